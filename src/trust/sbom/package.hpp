// What an SBOM lists: the image, its OS (os-release) and the packages found in its package
// databases, each with the layer that introduced it.
#pragma once

#include <string>
#include <vector>

#include "common/digest.hpp"

namespace berth::trust::sbom {

struct OsRelease {
    std::string id;                // "debian"
    std::string version_id;        // "12"
    std::string version_codename;  // "bookworm"
    std::string name;              // "Debian GNU/Linux"
    std::string pretty_name;
    std::string id_like;
    [[nodiscard]] bool empty() const { return id.empty() && name.empty(); }
};

struct Package {
    std::string type;  // purl type: "deb", "apk", "rpm", "pypi", "npm", "golang"
    std::string name;
    std::string version;
    std::string architecture;
    std::string source_name;  // the source package, when the database names one
    std::string source_version;
    std::vector<std::string> licenses;
    std::string supplier;  // maintainer or vendor, when known
    std::string purl;
    std::string cpe;
    std::string found_in;  // the database or file: "/var/lib/dpkg/status"
    Digest layer;          // the layer blob that introduced it
    size_t layer_index = 0;
};

struct ImageSubject {
    std::string name;  // a name of the image, or its id
    Digest manifest;
    Digest config;
    std::string architecture, os;
    std::vector<Digest> layers;  // blob digests, base first
    std::vector<Digest> diff_ids;
};

struct Catalog {
    ImageSubject image;
    OsRelease os;
    std::vector<Package> packages;
    std::vector<std::string> notices;  // databases found but not read, and why
};

}  // namespace berth::trust::sbom
