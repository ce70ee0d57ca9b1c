#include "trust/registries_d.hpp"

#include <dirent.h>

#include <algorithm>
#include <vector>

#include "common/file.hpp"
#include "common/strings.hpp"
#include "trust/policy.hpp"

namespace berth::trust {
namespace {

std::string unquote(std::string_view value, const std::string& where) {
    value = trim(value);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'')) {
        if (value.back() != value.front()) throw Error(where + ": unterminated quoted string");
        return std::string(value.substr(1, value.size() - 2));
    }
    if (!value.empty() && (value.front() == '[' || value.front() == '{' || value.front() == '&' ||
                           value.front() == '*' || value.front() == '|' || value.front() == '>'))
        throw Error(where + ": flow collections, anchors and block scalars are not supported");
    return std::string(value);
}

// Strips a comment that starts at " #" outside quotes.
std::string_view strip_comment(std::string_view line) {
    char quote = 0;
    for (size_t i = 0; i < line.size(); ++i) {
        char c = line[i];
        if (quote) {
            if (c == quote) quote = 0;
        } else if (c == '"' || c == '\'') {
            quote = c;
        } else if (c == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
            return line.substr(0, i);
        }
    }
    return line;
}

std::optional<bool> parse_bool(const std::string& value, const std::string& where) {
    if (value == "true" || value == "True" || value == "yes") return true;
    if (value == "false" || value == "False" || value == "no") return false;
    throw Error(where + ": expected true or false, got \"" + value + "\"");
}

RegistryStorage storage_of(const YamlNode& node, const std::string& where) {
    RegistryStorage s;
    if (!node.is_map) return s;
    for (const auto& [key, child] : node.children) {
        if (key == "use-sigstore-attachments")
            s.use_sigstore_attachments =
                parse_bool(child.scalar, where + ".use-sigstore-attachments");
        // lookaside, sigstore-staging, ...: signature stores berth does not use.
    }
    return s;
}

}  // namespace

YamlNode parse_simple_yaml(const std::string& text, const std::string& source) {
    YamlNode root;
    root.is_map = true;
    // The open mappings and their indentation.
    std::vector<std::pair<int, YamlNode*>> stack{{-1, &root}};
    YamlNode* last = nullptr;  // the latest key with no value: its children follow, indented
    int last_indent = -1;
    auto lines = split(text, '\n');
    for (size_t n = 0; n < lines.size(); ++n) {
        std::string where = source + ":" + std::to_string(n + 1);
        std::string_view line = strip_comment(lines[n]);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (trim(line).empty()) continue;
        if (trim(line) == "---") continue;
        size_t indent = line.find_first_not_of(' ');
        if (line[indent] == '\t') throw Error(where + ": tabs are not allowed for indentation");
        if (line[indent] == '-') throw Error(where + ": sequences are not supported here");
        std::string_view content = line.substr(indent);
        // The key ends at the first ": " (or a trailing ":") outside quotes.
        size_t colon = std::string_view::npos;
        char quote = 0;
        for (size_t i = 0; i < content.size(); ++i) {
            char c = content[i];
            if (quote) {
                if (c == quote) quote = 0;
            } else if (c == '"' || c == '\'') {
                quote = c;
            } else if (c == ':' && (i + 1 == content.size() || content[i + 1] == ' ')) {
                colon = i;
                break;
            }
        }
        if (colon == std::string_view::npos) throw Error(where + ": expected \"key: value\"");
        std::string key = unquote(content.substr(0, colon), where);
        std::string value = unquote(content.substr(colon + 1), where);
        int level = static_cast<int>(indent);
        if (last && level > last_indent) {
            last->is_map = true;
            stack.emplace_back(level, last);
        }
        while (stack.size() > 1 && stack.back().first > level)
            stack.pop_back();
        if (stack.back().first != level && !(stack.size() == 1 && level == 0))
            throw Error(where + ": inconsistent indentation");
        if (stack.size() == 1) stack.front().first = level;
        YamlNode& parent = *stack.back().second;
        if (parent.children.count(key)) throw Error(where + ": duplicate key \"" + key + "\"");
        YamlNode& node = parent.children[key];
        node.scalar = value;
        last = value.empty() ? &node : nullptr;
        last_indent = level;
    }
    return root;
}

void RegistriesD::add(const std::string& text, const std::string& source) {
    YamlNode doc = parse_simple_yaml(text, source);
    for (const auto& [key, node] : doc.children) {
        if (key == "default-docker") {
            RegistryStorage s = storage_of(node, source + ": default-docker");
            if (s.use_sigstore_attachments)
                default_docker_.use_sigstore_attachments = s.use_sigstore_attachments;
        } else if (key == "docker") {
            for (const auto& [scope, child] : node.children) {
                try {
                    validate_docker_scope(scope);
                } catch (const Error& e) {
                    throw Error(source + ": docker: bad scope \"" + scope + "\": " + e.what());
                }
                docker_[scope] = storage_of(child, source + ": docker." + scope);
            }
        }
        // Other keys (e.g. default-docker's siblings of other tools) are ignored, as
        // containers/image ignores them.
    }
}

RegistriesD RegistriesD::load(const std::string& dir) {
    RegistriesD config;
    DIR* d = ::opendir(dir.c_str());
    if (!d) return config;
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name.ends_with(".yaml") || name.ends_with(".yml")) names.push_back(name);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& name : names)
        config.add(read_file(dir + "/" + name), dir + "/" + name);
    return config;
}

bool RegistriesD::use_sigstore_attachments(const image::Reference& ref) const {
    for (const auto& candidate : docker_scope_candidates(ref)) {
        auto it = docker_.find(candidate);
        if (it != docker_.end() && it->second.use_sigstore_attachments)
            return *it->second.use_sigstore_attachments;
    }
    return default_docker_.use_sigstore_attachments.value_or(true);
}

}  // namespace berth::trust
