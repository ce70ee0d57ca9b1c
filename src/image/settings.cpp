#include "image/settings.hpp"

#include <unistd.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cstdlib>

#include "common/file.hpp"

namespace berth::image {
namespace {

[[noreturn]] void bad(const std::string& source, const std::string& key, const std::string& why) {
    throw Error(source + ": " + key + ": " + why);
}

std::vector<std::string> string_list(const toml::node& node, const std::string& source,
                                     const std::string& key) {
    const toml::array* array = node.as_array();
    if (!array) bad(source, key, "expected an array of strings");
    std::vector<std::string> out;
    for (const auto& item : *array) {
        auto value = item.value<std::string>();
        if (!value) bad(source, key, "expected an array of strings");
        out.push_back(*value);
    }
    return out;
}

std::string string_value(const toml::node& node, const std::string& source,
                         const std::string& key) {
    auto value = node.value<std::string>();
    if (!value || !node.is_string()) bad(source, key, "expected a string");
    return *value;
}

const toml::table& table_of(const toml::node& node, const std::string& source,
                            const std::string& key) {
    const toml::table* t = node.as_table();
    if (!t) bad(source, key, "expected a table");
    return *t;
}

std::vector<std::string> default_paths() {
    std::vector<std::string> paths;
    if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg)
        paths.push_back(std::string(xdg) + "/berth/berth.toml");
    else if (const char* home = std::getenv("HOME"); home && *home)
        paths.push_back(std::string(home) + "/.config/berth/berth.toml");
    paths.emplace_back("/etc/berth/berth.toml");
    return paths;
}

}  // namespace

bool Settings::is_insecure(std::string_view registry) const {
    return is_loopback_registry(registry) ||
           std::find(insecure_registries.begin(), insecure_registries.end(), registry) !=
               insecure_registries.end();
}

std::vector<Reference> Settings::candidates(std::string_view text) const {
    ParsedReference parsed = parse_reference(text, default_registry);
    if (!parsed.short_name) return {parsed.reference};
    // Aliases match the name as written, without tag or digest.
    std::string bare(text.substr(0, text.find_first_of(":@")));
    if (auto it = aliases.find(bare); it != aliases.end()) {
        Reference aliased = parse_reference(it->second, default_registry).reference;
        aliased.tag = parsed.reference.tag;
        aliased.digest = parsed.reference.digest;
        return {aliased};
    }
    switch (short_names) {
        case ShortNameMode::default_registry:
            return {parsed.reference};
        case ShortNameMode::reject:
            throw InvalidReference("short name \"" + std::string(text) +
                                   "\" is not allowed (short-names = \"reject\" in " +
                                   (source.empty() ? std::string("the configuration") : source) +
                                   "): name the registry");
        case ShortNameMode::search:
            break;
    }
    std::vector<Reference> out;
    for (const auto& registry : search_registries)
        out.push_back(parse_reference(text, registry).reference);
    if (out.empty()) out.push_back(parsed.reference);
    return out;
}

Reference Settings::resolve(std::string_view text) const {
    return candidates(text).front();
}

Settings parse_settings(const std::string& text, const std::string& source) {
    toml::table doc;
    try {
        doc = toml::parse(text, source);
    } catch (const toml::parse_error& e) {
        throw Error(source + ":" + std::to_string(e.source().begin.line) + ": " +
                    std::string(e.description()));
    }
    Settings s;
    s.source = source;
    for (const auto& [key, node] : doc) {
        std::string section(key.str());
        if (section == "registries") {
            for (const auto& [k, v] : table_of(node, source, section)) {
                std::string name = section + "." + std::string(k.str());
                if (k == "default") {
                    s.default_registry = string_value(v, source, name);
                    if (s.default_registry.empty()) bad(source, name, "must not be empty");
                } else if (k == "short-names") {
                    std::string mode = string_value(v, source, name);
                    if (mode == "default")
                        s.short_names = ShortNameMode::default_registry;
                    else if (mode == "search")
                        s.short_names = ShortNameMode::search;
                    else if (mode == "reject")
                        s.short_names = ShortNameMode::reject;
                    else
                        bad(source, name, "expected \"default\", \"search\" or \"reject\"");
                } else if (k == "search") {
                    s.search_registries = string_list(v, source, name);
                } else if (k == "insecure") {
                    s.insecure_registries = string_list(v, source, name);
                } else {
                    bad(source, name, "unknown key");
                }
            }
        } else if (section == "aliases") {
            for (const auto& [k, v] : table_of(node, source, section)) {
                std::string name = section + "." + std::string(k.str());
                std::string target = string_value(v, source, name);
                try {
                    parse_reference(target);
                } catch (const InvalidReference& e) {
                    bad(source, name, e.what());
                }
                s.aliases[std::string(k.str())] = target;
            }
        } else if (section == "pull") {
            for (const auto& [k, v] : table_of(node, source, section)) {
                std::string name = section + "." + std::string(k.str());
                if (k != "max-concurrent-downloads") bad(source, name, "unknown key");
                auto n = v.value<int64_t>();
                if (!n || !v.is_integer() || *n < 1 || *n > 64)
                    bad(source, name, "expected an integer from 1 to 64");
                s.max_concurrent_downloads = static_cast<int>(*n);
            }
        } else if (section == "auth") {
            for (const auto& [k, v] : table_of(node, source, section)) {
                std::string name = section + "." + std::string(k.str());
                if (k != "file") bad(source, name, "unknown key");
                s.auth_file = string_value(v, source, name);
            }
        } else if (section == "trust") {
            for (const auto& [k, v] : table_of(node, source, section)) {
                std::string name = section + "." + std::string(k.str());
                if (k == "signature-policy")
                    s.signature_policy = string_value(v, source, name);
                else if (k == "registries-d")
                    s.registries_d = string_value(v, source, name);
                else
                    bad(source, name, "unknown key");
            }
        } else {
            bad(source, section, "unknown section");
        }
    }
    return s;
}

Settings load_settings(const std::string& explicit_path) {
    std::string path = explicit_path;
    if (const char* env = std::getenv("BERTH_CONFIG"); path.empty() && env && *env) path = env;
    if (!path.empty()) return parse_settings(read_file(path), path);
    for (const auto& candidate : default_paths()) {
        if (auto text = read_file_if_exists(candidate)) return parse_settings(*text, candidate);
    }
    return Settings{};
}

}  // namespace berth::image
