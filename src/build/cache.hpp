// The build cache: step keys -> the layer the step made (or "no change"), in the state
// database's build_cache table. Each entry holds a lease (image/image_db.hpp) on its layer
// blob and snapshot, so image gc leaves them; `builder prune` removes entries and then
// collects garbage. docs/build.md describes how keys are derived.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/digest.hpp"
#include "image/images.hpp"

namespace berth::build {

// A layer a step made (or a base image's), as the image and the snapshots know it.
struct LayerRef {
    Digest diff_id;
    Digest blob;
    std::string media_type;  // of the blob (gzip, zstd, none)
    int64_t size = 0;        // of the blob
    Digest chain;            // its snapshot's chain ID
};

struct CacheEntry {
    Digest key;
    std::string description;
    std::optional<LayerRef> layer;       // nullopt: the step changed no file
    int64_t created = 0, last_used = 0;  // seconds since the epoch
};

class BuildCache {
  public:
    explicit BuildCache(image::Images& images);

    // Thread-safe (one connection, serialised).
    std::optional<CacheEntry> lookup(const Digest& key);
    // Records (replacing) an entry and its lease.
    void record(const CacheEntry& entry);
    void remove(const Digest& key);
    void touch(const Digest& key);
    std::vector<CacheEntry> list();

    static std::string lease_name(const Digest& key) { return "build-cache:" + key.hex(); }
    // Serialises every use of the state database's connection during a build.
    std::recursive_mutex& mutex() { return mutex_; }

  private:
    image::Images& images_;
    std::recursive_mutex mutex_;
};

// Step keys: sha256 over fields, each length-prefixed (no ambiguity between fields).
class KeyBuilder {
  public:
    explicit KeyBuilder(std::string_view kind);
    KeyBuilder& add(std::string_view field);
    KeyBuilder& add(const Digest& digest) { return add(digest.str()); }
    Digest finish();

  private:
    Hasher hasher_;
};

}  // namespace berth::build
