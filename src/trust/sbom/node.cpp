// Node packages: node_modules/<name>/package.json and node_modules/@scope/<name>/package.json,
// wherever they are (nested node_modules included).
#include <nlohmann/json.hpp>

#include "common/strings.hpp"
#include "trust/sbom/identifiers.hpp"
#include "trust/sbom/readers.hpp"

namespace berth::trust::sbom {

bool is_node_package_json(const TreeEntry& entry) {
    if (!S_ISREG(entry.st.st_mode) || !entry.path.ends_with("/package.json")) return false;
    auto parts = split(entry.path, '/');
    size_t n = parts.size();
    if (n >= 3 && parts[n - 3] == "node_modules" && !parts[n - 2].starts_with('@')) return true;
    return n >= 4 && parts[n - 4] == "node_modules" && parts[n - 3].starts_with('@');
}

void read_node_package(const ReaderContext& ctx, const TreeEntry& entry) {
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(ctx.tree.read(entry, 4 << 20));
    } catch (const nlohmann::json::exception&) {
        return;  // not JSON: not a package we can describe
    }
    if (!doc.is_object() || !doc.contains("name") || !doc["name"].is_string() ||
        !doc.contains("version") || !doc["version"].is_string())
        return;
    Package p;
    p.type = "npm";
    p.name = doc["name"].get<std::string>();
    p.version = doc["version"].get<std::string>();
    if (doc.contains("license")) {
        const auto& l = doc["license"];
        if (l.is_string()) p.licenses.push_back(l.get<std::string>());
        if (l.is_object() && l.contains("type") && l["type"].is_string())
            p.licenses.push_back(l["type"].get<std::string>());
    }
    if (doc.contains("licenses") && doc["licenses"].is_array())
        for (const auto& l : doc["licenses"])
            if (l.is_object() && l.contains("type") && l["type"].is_string())
                p.licenses.push_back(l["type"].get<std::string>());
    if (doc.contains("author") && doc["author"].is_string())
        p.supplier = doc["author"].get<std::string>();
    p.found_in = "/" + entry.path;
    p.layer_index = entry.layer;
    std::string ns, name = p.name;
    if (name.starts_with('@') && name.find('/') != std::string::npos) {
        ns = name.substr(0, name.find('/'));
        name = name.substr(name.find('/') + 1);
    }
    p.purl = make_purl("npm", ns, name, p.version, {});
    ctx.add(std::move(p));
}

}  // namespace berth::trust::sbom
