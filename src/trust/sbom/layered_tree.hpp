// An image's filesystem as its final overlay shows it, read from its layers' snapshots
// without mounting: a path is looked up from the top layer down, whiteouts (0/0 character
// devices) hide it, opaque directories (the overlay.opaque xattr) hide what lower layers hold
// beneath them. Each visible file is reported with the layer it comes from.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::trust::sbom {

struct TreeEntry {
    std::string path;  // relative to the root, no leading '/': "usr/bin/env"
    size_t layer = 0;  // index of the layer it comes from (0: the base)
    struct stat st {};
};

class LayeredTree {
  public:
    // layer_roots: each layer's directory (a snapshot's fs/), base first.
    explicit LayeredTree(std::vector<std::string> layer_roots);

    [[nodiscard]] size_t layer_count() const { return roots_.size(); }
    [[nodiscard]] const std::string& layer_root(size_t layer) const { return roots_[layer]; }

    // The entry the final filesystem shows at path (symlinks not followed), or nullopt.
    [[nodiscard]] std::optional<TreeEntry> find(std::string_view path) const;
    // The same, following symlinks inside the tree (absolute targets from its root).
    [[nodiscard]] std::optional<TreeEntry> resolve(std::string_view path) const;
    // The file's bytes (at most max_size; larger files throw naming the path).
    [[nodiscard]] std::string read(const TreeEntry& entry, size_t max_size = 64 << 20) const;
    // Whether layer holds path itself (a file, not a whiteout) and whether it deletes it.
    enum class LayerState { absent, present, deleted };
    [[nodiscard]] LayerState state_in_layer(size_t layer, std::string_view path) const;

    // Every visible entry (depth first; directories before their contents). visit returns
    // false to skip a directory's contents.
    void walk(const std::function<bool(const TreeEntry&)>& visit) const;

    // Names in a visible directory, with their entries.
    [[nodiscard]] std::vector<TreeEntry> list(std::string_view dir) const;

  private:
    void list_merged(const std::string& rel, const std::vector<char>& alive,
                     const std::function<void(TreeEntry&, std::vector<char>&)>& emit) const;

    std::vector<std::string> roots_;
};

}  // namespace berth::trust::sbom
