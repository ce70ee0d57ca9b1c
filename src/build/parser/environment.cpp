#include "build/parser/environment.hpp"

#include <algorithm>

namespace berth::build {

Environment::Environment(const std::vector<std::string>& entries) {
    for (const auto& e : entries) {
        size_t eq = e.find('=');
        if (eq == std::string::npos)
            set(e, "");
        else
            set(std::string_view(e).substr(0, eq), std::string_view(e).substr(eq + 1));
    }
}

void Environment::set(std::string_view key, std::string_view value) {
    for (auto& [k, v] : vars_)
        if (k == key) {
            v = value;
            return;
        }
    vars_.emplace_back(key, value);
}

void Environment::erase(std::string_view key) {
    std::erase_if(vars_, [&](const auto& kv) { return kv.first == key; });
}

std::optional<std::string> Environment::get(std::string_view key) const {
    for (const auto& [k, v] : vars_)
        if (k == key) return v;
    return std::nullopt;
}

std::vector<std::string> Environment::entries() const {
    std::vector<std::string> out;
    out.reserve(vars_.size());
    for (const auto& [k, v] : vars_)
        out.push_back(k + "=" + v);
    return out;
}

}  // namespace berth::build
