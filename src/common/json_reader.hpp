// Strict reading of JSON documents: every accessor knows the dotted path of its field
// ("linux.namespaces[2].type"), so a bad document is rejected with an error naming it.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace berth {

// A document that is well-formed JSON but not what the schema wants.
class InvalidDocument : public Error {
  public:
    using Error::Error;
};

// Throws InvalidDocument "WHAT: WHY".
[[noreturn]] void invalid_document(std::string_view what, const std::string& why);

// Parses text as JSON; the error names `what` (a file or a description) on a syntax error.
nlohmann::json parse_json(const std::string& text, const std::string& what);

class JsonReader {
  public:
    JsonReader(const nlohmann::json& node, std::string path)
        : node_(&node), path_(std::move(path)) {}

    [[nodiscard]] const std::string& path() const { return path_; }
    [[nodiscard]] const nlohmann::json& node() const { return *node_; }
    // A field that is absent or JSON null counts as not present (Go's omitempty round trip).
    [[nodiscard]] bool has(const std::string& key) const;
    [[nodiscard]] JsonReader at(const std::string& key) const;  // requires presence
    [[nodiscard]] std::optional<JsonReader> find(const std::string& key) const;

    [[nodiscard]] std::string as_string() const;
    [[nodiscard]] bool as_bool() const;
    [[nodiscard]] int64_t as_int(int64_t min = std::numeric_limits<int64_t>::min(),
                                 int64_t max = std::numeric_limits<int64_t>::max()) const;
    [[nodiscard]] uint64_t as_uint(uint64_t max = std::numeric_limits<uint64_t>::max()) const;
    [[nodiscard]] std::vector<JsonReader> as_array() const;
    [[nodiscard]] std::vector<std::string> as_string_array() const;
    [[nodiscard]] std::map<std::string, std::string> as_string_map() const;
    [[nodiscard]] std::vector<std::pair<std::string, JsonReader>> as_object() const;
    void require_object() const;

    // Optional-field shorthands: default when absent.
    [[nodiscard]] std::string string_or(const std::string& key,
                                        const std::string& fallback = {}) const;
    [[nodiscard]] bool bool_or(const std::string& key, bool fallback = false) const;
    [[nodiscard]] std::optional<int64_t> opt_int(
        const std::string& key, int64_t min = std::numeric_limits<int64_t>::min(),
        int64_t max = std::numeric_limits<int64_t>::max()) const;
    [[nodiscard]] std::optional<uint64_t> opt_uint(
        const std::string& key, uint64_t max = std::numeric_limits<uint64_t>::max()) const;
    [[nodiscard]] std::vector<std::string> string_array_or_empty(const std::string& key) const;

    [[noreturn]] void fail(const std::string& why) const;

  private:
    [[nodiscard]] const char* type_name() const;

    const nlohmann::json* node_;
    std::string path_;
};

}  // namespace berth
