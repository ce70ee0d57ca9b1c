// Image manifests: OCI image manifest v1 and Docker's schema2 (the same shape), strictly
// parsed. The bytes of a manifest are what its digest covers, so callers keep them as received.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oci/descriptor.hpp"

namespace berth::oci {

struct Manifest {
    int schema_version = 2;
    std::string media_type;  // as written in the document; empty when absent (OCI allows it)
    std::string artifact_type;
    Descriptor config;
    std::vector<Descriptor> layers;
    std::optional<Descriptor> subject;
    std::map<std::string, std::string> annotations;

    [[nodiscard]] bool is_docker() const;
};

enum class ManifestKind { manifest, index };

// Which kind of document bytes is, from its mediaType field, else the Content-Type the
// registry sent, else its shape. Throws InvalidDocument naming `what` for malformed JSON,
// schema1 and media types that are neither.
ManifestKind detect_manifest_kind(std::string_view bytes, std::string_view content_type,
                                  std::string_view what);

// Throws InvalidDocument ("WHAT: layers[1].digest: ...") on anything that is not a valid
// manifest.
Manifest parse_manifest(std::string_view bytes, std::string_view what);
nlohmann::ordered_json to_json(const Manifest& manifest);

}  // namespace berth::oci
