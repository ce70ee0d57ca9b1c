// Push: every blob the registry lacks (HEAD first) is mounted from a repository of the same
// registry known to have it, else uploaded (monolithic, or chunked above chunk_size); the
// manifest last, by tag or by digest.
#pragma once

#include "distribution/client/registry.hpp"
#include "distribution/client/transfer_observer.hpp"
#include "image/images.hpp"
#include "image/reference.hpp"

namespace berth::distribution {

struct PushOptions {
    int64_t chunk_size = 64 * 1024 * 1024;  // 0: always monolithic
    int max_concurrent = 4;
    TransferObserver* observer = nullptr;
};

struct PushResult {
    Digest digest;  // of the manifest pushed
};

PushResult push_image(image::Images& images, Registry& registry, const image::Image& image,
                      const image::Reference& destination, const PushOptions& options);

}  // namespace berth::distribution
