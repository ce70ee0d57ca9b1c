// containers-registries.d(5): per-registry signature storage settings, YAML files in a
// directory. berth reads `use-sigstore-attachments` (whether sigstore signatures are looked
// up beside the image) from `default-docker` and from `docker` scopes (the most specific
// scope, as policy.json's, wins).
//
// When nothing is configured berth looks them up (cosign's behaviour; containers/image's
// default is off): `use-sigstore-attachments: false` turns the lookup off for a scope.
//
// The files are read by a small parser for block mappings of scalars (what registries.d files
// hold), not yaml-cpp: Debian ships yaml-cpp only as a shared library, and every `berth`
// command would pay for loading it (and the shared libstdc++ it brings).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "image/reference.hpp"

namespace berth::trust {

struct RegistryStorage {
    std::optional<bool> use_sigstore_attachments;
};

class RegistriesD {
  public:
    // Every *.yaml in dir (a missing dir is no configuration). Errors name file:line.
    static RegistriesD load(const std::string& dir);
    // One file's text (tests).
    void add(const std::string& text, const std::string& source);

    [[nodiscard]] bool use_sigstore_attachments(const image::Reference& ref) const;

  private:
    RegistryStorage default_docker_;
    std::map<std::string, RegistryStorage> docker_;
};

// A nested mapping of scalars parsed from YAML's block style. Throws Error "source:line: why".
struct YamlNode {
    std::string scalar;
    std::map<std::string, YamlNode> children;
    bool is_map = false;
};
YamlNode parse_simple_yaml(const std::string& text, const std::string& source);

}  // namespace berth::trust
