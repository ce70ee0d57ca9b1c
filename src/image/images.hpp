// The local image store: blobs, snapshots and the image index under one root, and what
// every verb needs from them (find an image by name or id, read it, unpack it, record it).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "image/content_store.hpp"
#include "image/image_db.hpp"
#include "image/settings.hpp"
#include "image/snapshots.hpp"
#include "oci/image_config.hpp"
#include "oci/image_manifest.hpp"

namespace berth::image {

// An image read from the store: its manifest and config, verified and parsed.
struct Image {
    ImageRecord record;
    std::string manifest_bytes;
    oci::Manifest manifest;
    std::string config_bytes;
    oci::ImageConfig config;
    std::vector<Digest> chain;  // chain IDs of its layers, base first

    [[nodiscard]] std::string display_name() const;
};

// No image by that name or id.
class ImageNotFound : public Error {
  public:
    using Error::Error;
};

// Per-layer progress of an unpack (index into manifest.layers).
using UnpackProgress = std::function<void(size_t layer, bool done)>;

class Images {
  public:
    explicit Images(std::string root);

    [[nodiscard]] const std::string& root() const { return root_; }
    ContentStore& store() { return store_; }
    Snapshots& snapshots() { return snapshots_; }
    ImageDb& db() { return db_; }

    // A name ("busybox", "reg:5000/a/b:tag", "name@sha256:..."), an image id ("sha256:<hex>",
    // manifest or config digest) or a unique hex prefix of one. Throws ImageNotFound.
    ImageRecord find(std::string_view text, const Settings& settings);
    std::optional<ImageRecord> try_find(std::string_view text, const Settings& settings);
    Image load(const ImageRecord& record);

    // Checks that a manifest and everything it references are in the store, and that its
    // config is a runnable image config; returns it parsed (record left default).
    Image read_manifest(const Digest& manifest);

    // Records an image whose blobs are all stored: unpacks the snapshots it lacks (parallel),
    // then points names at it. Nothing is recorded if any of that fails.
    ImageRecord commit(const Digest& manifest, const std::optional<Digest>& index,
                       const std::vector<std::string>& names, const UnpackProgress& progress = {});

    // The snapshot of layer i, unpacked from its blob if missing.
    void ensure_snapshot(const Image& image, size_t layer);
    // The same, unpublished (nullopt when it exists): see Snapshots::prepare.
    std::optional<PreparedSnapshot> prepare_snapshot(const Image& image, size_t layer);
    // The whole image flattened into the directory dir_fd (whiteouts applied): berth's
    // "unpack" and the copying fallback when overlayfs is unavailable.
    void unpack_flat(const Image& image, int dir_fd);

    // Held (shared) by everything that adds content; gc takes it exclusively.
    [[nodiscard]] FileLock writer_lock() const;
    [[nodiscard]] FileLock gc_lock() const;

  private:
    std::string root_;
    ContentStore store_;
    Snapshots snapshots_;
    ImageDb db_;
};

// The layer media types berth unpacks; throws Error naming the layer otherwise.
void check_layer_media_type(const oci::Descriptor& layer);

}  // namespace berth::image
