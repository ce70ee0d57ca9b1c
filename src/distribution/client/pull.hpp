// Pull: resolve a reference to a manifest (choosing the platform from an index), fetch the
// config, then every layer in parallel, each unpacked into its snapshot while it downloads
// (the unpacker follows the blob's temp file; the digest is checked before the blob or the
// snapshot become visible). An image already here costs one HEAD request, or none when
// pulled by digest.
#pragma once

#include <functional>
#include <optional>

#include "distribution/client/registry.hpp"
#include "distribution/client/transfer_observer.hpp"
#include "image/images.hpp"
#include "image/reference.hpp"

namespace berth::distribution {

struct PullOptions {
    oci::Platform platform;
    int max_concurrent = 4;
    TransferObserver* observer = nullptr;
    // Called with the digest the reference resolved to (and, for an index, the platform's
    // manifest) before anything is stored or named, also when the image is here already:
    // throwing refuses the image (the signature policy: trust/policy_pull.hpp).
    std::function<void(const Digest& manifest, const std::optional<Digest>& instance)> admit;
};

struct PullResult {
    image::ImageRecord record;
    std::string name;         // the name recorded ("registry/repo:tag" or "...@digest")
    bool up_to_date = false;  // nothing had to be fetched
};

PullResult pull_image(image::Images& images, Registry& registry, const image::Reference& ref,
                      const PullOptions& options);

// The same check without a registry: the image is here, complete, for that platform.
std::optional<image::ImageRecord> find_complete(image::Images& images, const Digest& digest,
                                                const oci::Platform& platform);

}  // namespace berth::distribution
