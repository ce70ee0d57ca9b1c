// The package database readers, one file each; catalog.cpp runs them over an image.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trust/sbom/layered_tree.hpp"
#include "trust/sbom/package.hpp"

namespace berth::trust::sbom {

struct ReaderContext {
    const LayeredTree& tree;
    const std::vector<Digest>& layers;  // blob digest of each tree layer
    const OsRelease& os;
    Catalog& catalog;

    // Records p (its layer and identifiers filled in from layer_index).
    void add(Package p) const;
};

// A database rewritten whole by each layer that changes it (dpkg status, apk installed,
// rpmdb): the packages of the visible copy, each attributed to the lowest layer from which
// on every copy listed it with the same version. parse(text, layer) returns the packages of
// one copy.
void read_layered_database(const ReaderContext& ctx, const std::string& path,
                           const std::function<std::vector<Package>(size_t layer)>& parse);

OsRelease read_os_release(const LayeredTree& tree);
OsRelease parse_os_release(std::string_view text);

void read_dpkg(const ReaderContext& ctx);
std::vector<Package> parse_dpkg_status(std::string_view text, const OsRelease& os,
                                       const std::string& found_in);

void read_apk(const ReaderContext& ctx);
std::vector<Package> parse_apk_installed(std::string_view text, const OsRelease& os);

void read_rpm(const ReaderContext& ctx);

// Called for each visible entry during the one walk of the tree.
bool is_python_metadata_dir(const TreeEntry& entry);
void read_python_package(const ReaderContext& ctx, const TreeEntry& entry);
std::vector<std::string> parse_python_metadata(std::string_view text);  // name, version, license

bool is_node_package_json(const TreeEntry& entry);
void read_node_package(const ReaderContext& ctx, const TreeEntry& entry);

bool may_be_go_binary(const TreeEntry& entry);
void read_go_binary(const ReaderContext& ctx, const TreeEntry& entry);

struct GoBuildInfo {
    std::string go_version;  // "go1.19.8"
    std::string main_path;   // the main module
    std::string main_version;
    std::vector<std::pair<std::string, std::string>> deps;  // path, version
};
// From an ELF file's bytes (its .go.buildinfo section); nullopt when it has none.
std::optional<GoBuildInfo> parse_go_buildinfo(int fd, const std::string& what);

}  // namespace berth::trust::sbom
