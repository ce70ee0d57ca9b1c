// Small string helpers used across layers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

std::vector<std::string> split(std::string_view text, char separator);
std::string join(const std::vector<std::string>& parts, std::string_view separator);
std::string_view trim(std::string_view text);

// Whole-string decimal parses; nullopt on any junk, sign error or overflow.
std::optional<uint64_t> parse_uint64(std::string_view text);
std::optional<int64_t> parse_int64(std::string_view text);

// A null-terminated char* array over strings, as execve(2) wants argv and envp. The strings
// must outlive the array and not be resized meanwhile.
std::vector<char*> c_string_array(std::vector<std::string>& strings);

// text with every byte that is not part of well-formed UTF-8 written as "\xHH": what may go
// into JSON and log lines (which must be UTF-8) and still shows the offending bytes.
std::string escape_invalid_utf8(std::string_view text);

// "KEY=VALUE" lookups in an environment list.
std::optional<std::string> env_lookup(const std::vector<std::string>& env, std::string_view key);
// Replaces KEY's entry or appends it.
void env_set(std::vector<std::string>& env, std::string_view key, std::string_view value);

}  // namespace berth
