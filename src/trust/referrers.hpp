// OCI 1.1 artifacts attached to an image: a manifest with an artifactType, the empty config,
// one layer (the artifact's bytes) and a `subject` naming the image's manifest. Signatures
// (with --attach referrers), SBOMs and provenance are pushed and found this way. A registry
// without the referrers API gets the tag schema fallback (an index at tag sha256-<hex>), as
// the distribution spec asks of clients.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "distribution/client/registry.hpp"
#include "oci/descriptor.hpp"
#include "oci/image_manifest.hpp"

namespace berth::trust {

// The descriptor of a manifest in the registry (media type and size from a HEAD); throws
// naming repo@digest when it is not there.
oci::Descriptor manifest_descriptor(distribution::Registry& registry, const std::string& repo,
                                    const Digest& digest);

// Uploads bytes as a blob unless the repository has it; returns its descriptor.
oci::Descriptor push_blob(distribution::Registry& registry, const std::string& repo,
                          const std::string& bytes, const std::string& media_type);

struct Artifact {
    std::string artifact_type;
    std::string media_type;  // of its one layer
    std::string bytes;
    std::map<std::string, std::string> layer_annotations;
    std::map<std::string, std::string> annotations;  // the manifest's
};

// Pushes the artifact as a referrer of subject; returns the manifest's digest.
Digest push_referrer(distribution::Registry& registry, const std::string& repo,
                     const oci::Descriptor& subject, const Artifact& artifact);

// A referrer read back: its manifest (digest verified by the registry client).
struct Referrer {
    Digest digest;
    oci::Manifest manifest;
    std::string created;  // org.opencontainers.image.created annotation, when set
};

// The referrers of subject with this artifact type, each manifest fetched and parsed.
std::vector<Referrer> list_referrers(distribution::Registry& registry, const std::string& repo,
                                     const Digest& subject, const std::string& artifact_type);

// A layer's bytes, refusing descriptors larger than max_size (checked before the download).
std::string fetch_layer(distribution::Registry& registry, const std::string& repo,
                        const oci::Descriptor& layer, int64_t max_size, const std::string& what);

}  // namespace berth::trust
