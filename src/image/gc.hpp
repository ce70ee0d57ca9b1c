// Garbage collection: mark what the recorded images reference (manifests, indexes, configs,
// layer blobs, snapshots of their chains), sweep the rest, and crash leftovers. Runs under
// the exclusive gc lock, so content being added by a pull or load (which holds the lock
// shared) is never taken.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "image/images.hpp"

namespace berth::image {

struct GcResult {
    std::vector<Digest> blobs_removed;
    std::vector<Digest> snapshots_removed;
    int64_t bytes_freed = 0;
};

GcResult collect_garbage(Images& images);

// After a failed load or pull: removes those of blobs that no recorded image references
// (the caller holds the writer lock, so gc cannot run).
void discard_unreferenced_blobs(Images& images, const std::vector<Digest>& blobs);
void discard_unreferenced_snapshots(Images& images, const std::vector<Digest>& chains);

struct UsageLine {
    int64_t count = 0;
    int64_t size = 0;         // bytes
    int64_t reclaimable = 0;  // bytes that prune would free
};

struct DiskUsage {
    UsageLine images;     // count: images; size: their blobs (shared counted once)
    UsageLine blobs;      // every blob in the store
    UsageLine snapshots;  // unpacked layers (sizes of the uncompressed layers)
    int64_t dangling_images = 0;
};

DiskUsage disk_usage(Images& images);

// What `image prune` removes: images without names (all images with all=true), then gc.
struct PruneResult {
    std::vector<Digest> images_removed;
    GcResult gc;
};
PruneResult prune_images(Images& images, bool all);

// `rmi`: removes the name; when it was the image's last name (or text was an id and force
// is set), the image too; then gc. Returns the image ids deleted.
struct RemoveResult {
    std::vector<std::string> untagged;
    std::vector<Digest> deleted;
    GcResult gc;
};
RemoveResult remove_image(Images& images, const std::string& text, const Settings& settings,
                          bool force);

}  // namespace berth::image
