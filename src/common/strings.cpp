#include "common/strings.hpp"

#include <charconv>

namespace berth {

std::vector<std::string> split(std::string_view text, char separator) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (;;) {
        size_t end = text.find(separator, start);
        if (end == std::string_view::npos) {
            parts.emplace_back(text.substr(start));
            return parts;
        }
        parts.emplace_back(text.substr(start, end - start));
        start = end + 1;
    }
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) {
        if (i) out += separator;
        out += parts[i];
    }
    return out;
}

std::string_view trim(std::string_view text) {
    const char* space = " \t\n\r\f\v";
    size_t first = text.find_first_not_of(space);
    if (first == std::string_view::npos) return {};
    size_t last = text.find_last_not_of(space);
    return text.substr(first, last - first + 1);
}

template <class T>
static std::optional<T> parse_whole(std::string_view text) {
    if (text.empty()) return std::nullopt;
    T value{};
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
    return value;
}

std::optional<uint64_t> parse_uint64(std::string_view text) {
    return parse_whole<uint64_t>(text);
}
std::optional<int64_t> parse_int64(std::string_view text) {
    return parse_whole<int64_t>(text);
}

std::vector<char*> c_string_array(std::vector<std::string>& strings) {
    std::vector<char*> out;
    out.reserve(strings.size() + 1);
    for (auto& s : strings)
        out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

std::optional<std::string> env_lookup(const std::vector<std::string>& env, std::string_view key) {
    for (const auto& entry : env) {
        if (entry.size() > key.size() && entry.compare(0, key.size(), key) == 0 &&
            entry[key.size()] == '=')
            return entry.substr(key.size() + 1);
    }
    return std::nullopt;
}

void env_set(std::vector<std::string>& env, std::string_view key, std::string_view value) {
    std::string entry = std::string(key) + "=" + std::string(value);
    for (auto& existing : env) {
        if (existing.size() > key.size() && existing.compare(0, key.size(), key) == 0 &&
            existing[key.size()] == '=') {
            existing = entry;
            return;
        }
    }
    env.push_back(std::move(entry));
}

}  // namespace berth
