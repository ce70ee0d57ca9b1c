#include "distribution/server/http_message.hpp"

namespace berth::registry {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool percent_decode(std::string_view text, bool plus_is_space, std::string& out) {
    out.clear();
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '%') {
            if (i + 2 >= text.size()) return false;
            const int high = hex_value(text[i + 1]);
            const int low = hex_value(text[i + 2]);
            if (high < 0 || low < 0) return false;
            c = static_cast<char>(high * 16 + low);
            if (c == '/' && !plus_is_space) {
                // An escaped slash in a path is part of a name, never a separator.
                out.append(text.substr(i, 3));
                i += 2;
                continue;
            }
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c == '\0') return false;
        out += c;
    }
    return true;
}

}  // namespace

std::string RequestHead::header(const std::string& lowercase_name) const {
    auto it = headers.find(lowercase_name);
    return it == headers.end() ? std::string() : it->second;
}

std::string RequestHead::query_value(const std::string& key) const {
    auto it = query.find(key);
    return it == query.end() ? std::string() : it->second;
}

bool RequestHead::has_query(const std::string& key) const {
    return query.count(key) > 0;
}

bool parse_target(std::string_view target, std::string& path,
                  std::multimap<std::string, std::string>& query) {
    const size_t question = target.find('?');
    if (!percent_decode(target.substr(0, question), false, path)) return false;
    if (question == std::string_view::npos) return true;
    std::string_view rest = target.substr(question + 1);
    while (!rest.empty()) {
        const size_t amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
        if (pair.empty()) continue;
        const size_t eq = pair.find('=');
        std::string key, value;
        if (!percent_decode(pair.substr(0, eq), true, key)) return false;
        if (eq != std::string_view::npos && !percent_decode(pair.substr(eq + 1), true, value))
            return false;
        query.emplace(std::move(key), std::move(value));
    }
    return true;
}

}  // namespace berth::registry
