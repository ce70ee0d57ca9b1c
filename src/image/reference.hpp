// Image references in the docker/OCI grammar:
//   [registry[:port]/]path/components[:tag][@algorithm:hex]
// A first component with a '.' or ':', or "localhost", or an IP literal ([::1]:5000) is a
// registry; otherwise the name is short and the default registry applies (with "library/"
// on docker.io, as docker does).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/digest.hpp"
#include "common/error.hpp"

namespace berth::image {

class InvalidReference : public Error {
  public:
    using Error::Error;
};

inline constexpr std::string_view kDockerHub = "docker.io";

struct Reference {
    std::string registry;    // "docker.io", "localhost:5000", "[::1]:5000"
    std::string repository;  // "library/busybox"
    std::string tag;         // empty when not given
    std::optional<Digest> digest;

    // registry/repository
    [[nodiscard]] std::string name() const;
    // registry/repository[:tag][@digest]
    [[nodiscard]] std::string str() const;
    // The tag, or "latest" when neither tag nor digest was given.
    [[nodiscard]] std::string tag_or_latest() const;
    // What to ask the registry for: the digest when there is one, else the tag (or latest).
    [[nodiscard]] std::string manifest_reference() const;
    // The registry's host for connections ("registry-1.docker.io" for docker.io).
    [[nodiscard]] std::string endpoint_host() const;
    friend bool operator==(const Reference&, const Reference&) = default;
};

struct ParsedReference {
    Reference reference;
    bool short_name = false;  // no registry was written
};

// Parses text; a short name gets default_registry. Throws InvalidReference naming text and
// what is wrong with it.
ParsedReference parse_reference(std::string_view text,
                                std::string_view default_registry = kDockerHub);

// Same, but a reference without tag and digest gets "latest" (what pull and push use).
Reference parse_normalized(std::string_view text, std::string_view default_registry = kDockerHub);

// Registries that may be reached over plain HTTP without being configured insecure.
bool is_loopback_registry(std::string_view registry);

}  // namespace berth::image
