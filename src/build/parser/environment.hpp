// The variables a Containerfile's words are expanded with: an ordered list of KEY=VALUE where
// a later definition of a key replaces the earlier one in place (as BuildKit keeps a stage's
// environment: the base image's Env, then ENV and ARG in the order they appear).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::build {

class Environment {
  public:
    Environment() = default;
    // Entries "KEY=VALUE" (an entry without '=' has an empty value).
    explicit Environment(const std::vector<std::string>& entries);

    void set(std::string_view key, std::string_view value);
    void erase(std::string_view key);
    [[nodiscard]] std::optional<std::string> get(std::string_view key) const;
    [[nodiscard]] bool contains(std::string_view key) const { return get(key).has_value(); }
    [[nodiscard]] std::vector<std::string> entries() const;  // "KEY=VALUE", in order
    [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& pairs() const {
        return vars_;
    }
    [[nodiscard]] bool empty() const { return vars_.empty(); }

  private:
    std::vector<std::pair<std::string, std::string>> vars_;
};

}  // namespace berth::build
