// The image index in the state database: images (by manifest digest), the names that point
// at them ("registry/repo:tag", "registry/repo@sha256:..."), what berth learnt about layers
// (uncompressed size, diff id) and where blobs came from (for cross-repository mounts).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/digest.hpp"
#include "image/state_db.hpp"

namespace berth::image {

struct ImageRecord {
    Digest id;                           // the manifest's digest
    std::optional<Digest> index_digest;  // the index it was chosen from (a multi-platform pull)
    Digest config;
    std::string media_type;  // of the manifest
    int64_t size = 0;        // manifest + config + layers, as stored
    std::string created;     // when it arrived here (RFC 3339)
    std::vector<std::string> names;
};

struct LayerRecord {
    Digest blob;
    Digest diff_id;
    int64_t uncompressed_size = 0;
};

// What leases keep (see ImageDb::add_lease).
struct LeasedContent {
    std::vector<Digest> blobs;
    std::vector<Digest> snapshots;
};

class ImageDb {
  public:
    explicit ImageDb(const std::string& path);

    // Inserts or updates the image and points names at it (moving them from other images).
    void put(const ImageRecord& image, const std::vector<std::string>& names);
    [[nodiscard]] std::optional<ImageRecord> get(const Digest& id);
    [[nodiscard]] std::optional<ImageRecord> by_name(const std::string& name);
    // Images whose id or config digest starts with hex_prefix (docker's short ids).
    [[nodiscard]] std::vector<ImageRecord> by_prefix(const std::string& hex_prefix);
    [[nodiscard]] std::vector<ImageRecord> list();
    // Images chosen from the index with this digest (one per platform pulled).
    [[nodiscard]] std::vector<ImageRecord> by_index(const Digest& index);
    void add_name(const std::string& name, const Digest& id);
    bool remove_name(const std::string& name);  // false when it was not there
    void remove_image(const Digest& id);

    void put_layer(const LayerRecord& layer);
    [[nodiscard]] std::optional<LayerRecord> layer(const Digest& blob);
    void forget_layer(const Digest& blob);

    void add_blob_source(const Digest& blob, const std::string& registry,
                         const std::string& repository);
    // Repositories on registry known to hold blob.
    [[nodiscard]] std::vector<std::string> blob_sources(const Digest& blob,
                                                        const std::string& registry);

    // Leases: blobs and snapshots kept for something other than an image (the build cache,
    // a build in progress), as containerd's leases: gc leaves whatever a lease names.
    void add_lease(const std::string& lease, const std::vector<Digest>& blobs,
                   const std::vector<Digest>& snapshots);
    void remove_lease(const std::string& lease);
    [[nodiscard]] LeasedContent leased();

    Database& database() { return db_; }

  private:
    ImageRecord read_row(Statement& st);
    void load_names(ImageRecord& image);
    Database db_;
};

}  // namespace berth::image
