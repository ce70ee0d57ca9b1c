#include "distribution/server/names.hpp"

namespace berth::registry {
namespace {

bool is_lower_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool is_valid_component(std::string_view component) {
    size_t i = 0;
    const size_t n = component.size();
    auto alnum_run = [&] {
        const size_t start = i;
        while (i < n && is_lower_alnum(component[i]))
            ++i;
        return i > start;
    };
    if (!alnum_run()) return false;
    while (i < n) {
        const char c = component[i];
        if (c == '.') {
            ++i;
        } else if (c == '_') {
            ++i;
            if (i < n && component[i] == '_') ++i;
        } else if (c == '-') {
            while (i < n && component[i] == '-')
                ++i;
        } else {
            return false;
        }
        if (!alnum_run()) return false;
    }
    return true;
}

}  // namespace

bool is_valid_repository_name(std::string_view name) {
    if (name.empty() || name.size() > kMaxNameLength) return false;
    size_t start = 0;
    while (true) {
        const size_t slash = name.find('/', start);
        const std::string_view component = name.substr(
            start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        if (!is_valid_component(component)) return false;
        if (slash == std::string_view::npos) return true;
        start = slash + 1;
    }
}

bool is_valid_tag(std::string_view tag) {
    if (tag.empty() || tag.size() > 128) return false;
    for (size_t i = 0; i < tag.size(); ++i) {
        const char c = tag[i];
        const bool word =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (word) continue;
        if (i > 0 && (c == '.' || c == '-')) continue;
        return false;
    }
    return true;
}

bool is_valid_upload_id(std::string_view id) {
    if (id.size() != 32) return false;
    for (char c : id)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

}  // namespace berth::registry
