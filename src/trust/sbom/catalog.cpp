#include "trust/sbom/catalog.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include "trust/sbom/identifiers.hpp"
#include "trust/sbom/readers.hpp"

namespace berth::trust::sbom {

void ReaderContext::add(Package p) const {
    if (p.layer_index < layers.size()) p.layer = layers[p.layer_index];
    if (p.cpe.empty()) p.cpe = make_cpe(p);
    catalog.packages.push_back(std::move(p));
}

void read_layered_database(const ReaderContext& ctx, const std::string& path,
                           const std::function<std::vector<Package>(size_t layer)>& parse) {
    auto visible = ctx.tree.find(path);
    if (!visible || !S_ISREG(visible->st.st_mode)) return;
    // key (name + arch) -> (package, first layer of its unbroken run)
    std::map<std::string, std::pair<Package, size_t>> live;
    for (size_t layer = 0; layer <= visible->layer; ++layer) {
        auto state = ctx.tree.state_in_layer(layer, path);
        if (state == LayeredTree::LayerState::deleted) live.clear();
        if (state != LayeredTree::LayerState::present) continue;
        std::map<std::string, std::pair<Package, size_t>> next;
        for (auto& p : parse(layer)) {
            std::string key = p.name + "\n" + p.architecture;
            auto it = live.find(key);
            size_t first = (it != live.end() && it->second.first.version == p.version)
                               ? it->second.second
                               : layer;
            next[key] = {std::move(p), first};
        }
        live = std::move(next);
    }
    for (auto& [key, value] : live) {
        value.first.layer_index = value.second;
        ctx.add(std::move(value.first));
    }
}

Catalog catalog_tree(const LayeredTree& tree, const std::vector<Digest>& layers,
                     ImageSubject subject) {
    Catalog catalog;
    catalog.image = std::move(subject);
    catalog.os = read_os_release(tree);
    ReaderContext ctx{tree, layers, catalog.os, catalog};
    read_dpkg(ctx);
    read_apk(ctx);
    read_rpm(ctx);
    // One walk for what can be anywhere: Python and Node packages, Go binaries.
    tree.walk([&](const TreeEntry& entry) {
        if (S_ISDIR(entry.st.st_mode)) {
            // The package databases' own trees hold no such packages (and are large).
            if (entry.path == "proc" || entry.path == "sys" || entry.path == "dev" ||
                entry.path == "var/lib/dpkg" || entry.path == "usr/share/doc" ||
                entry.path == "usr/share/man" || entry.path == "usr/share/locale")
                return false;
            if (is_python_metadata_dir(entry)) {
                read_python_package(ctx, entry);
                return false;
            }
            return true;
        }
        if (is_python_metadata_dir(entry)) {
            read_python_package(ctx, entry);
        } else if (is_node_package_json(entry)) {
            read_node_package(ctx, entry);
        } else if (may_be_go_binary(entry)) {
            read_go_binary(ctx, entry);
        }
        return true;
    });
    std::stable_sort(
        catalog.packages.begin(), catalog.packages.end(), [](const Package& a, const Package& b) {
            return std::tie(a.type, a.name, a.version) < std::tie(b.type, b.name, b.version);
        });
    return catalog;
}

Catalog catalog_image(image::Images& images, const image::Image& image) {
    std::vector<std::string> roots;
    for (size_t i = 0; i < image.chain.size(); ++i) {
        if (!images.snapshots().has(image.chain[i])) images.ensure_snapshot(image, i);
        roots.push_back(images.snapshots().fs_path(image.chain[i]));
    }
    ImageSubject subject;
    subject.name = image.display_name();
    subject.manifest = image.record.id;
    subject.config = image.record.config;
    subject.architecture = image.config.architecture;
    subject.os = image.config.os;
    for (const auto& layer : image.manifest.layers)
        subject.layers.push_back(layer.digest);
    subject.diff_ids = image.config.diff_ids;
    LayeredTree tree(std::move(roots));
    return catalog_tree(tree, subject.layers, subject);
}

}  // namespace berth::trust::sbom
