// The registry's filesystem storage (layout in docs/registry.md). Blobs live once in the
// content store (<root>/blobs/sha256/<hex>) whatever the number of repositories that use
// them; a repository holds only small link files naming the blobs and manifests it may
// serve, its tags and its referrers. Every file appears by rename after an fsync, so a
// crash leaves either the old or the new state, and a manifest is only linked once its
// bytes are in the store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/digest.hpp"
#include "common/unique_fd.hpp"
#include "image/content_store.hpp"
#include "oci/descriptor.hpp"

namespace berth::registry {

struct StoredManifest {
    Digest digest;
    std::string media_type;
    std::string bytes;
};

class Storage {
  public:
    explicit Storage(std::string root);

    [[nodiscard]] const std::string& root() const { return root_; }
    [[nodiscard]] image::ContentStore& blobs() { return blobs_; }
    [[nodiscard]] std::string uploads_dir() const { return root_ + "/uploads"; }

    // Blobs of a repository.
    [[nodiscard]] bool has_blob(const std::string& repo, const Digest& digest) const;
    // Size of a blob the repository links; nullopt when it does not (or the store lost it).
    [[nodiscard]] std::optional<int64_t> blob_size(const std::string& repo,
                                                   const Digest& digest) const;
    [[nodiscard]] UniqueFd open_blob(const Digest& digest) const;
    void link_blob(const std::string& repo, const Digest& digest);
    bool unlink_blob(const std::string& repo, const Digest& digest);
    // Moves a verified, fsynced file into the store under digest (or drops it when the store
    // has the blob already).
    void adopt_blob_file(const std::string& path, const Digest& digest);

    // Manifests and tags.
    [[nodiscard]] std::optional<Digest> resolve_tag(const std::string& repo,
                                                    const std::string& tag) const;
    // The media type the manifest was pushed with; nullopt when the repository lacks it.
    [[nodiscard]] std::optional<std::string> manifest_media_type(const std::string& repo,
                                                                 const Digest& digest) const;
    [[nodiscard]] std::optional<StoredManifest> read_manifest(const std::string& repo,
                                                              const Digest& digest) const;
    // Stores bytes, links them, records the referrer entry (when subject is set) and moves
    // the tag (when given) - in that order, so a tag never points at a missing manifest.
    void put_manifest(const std::string& repo, const std::string& bytes, const Digest& digest,
                      const std::string& media_type, const std::string& tag,
                      const std::optional<Digest>& subject, const oci::Descriptor& as_referrer);
    // Unlinks the manifest, every tag that names it and its referrer entry. False if absent.
    bool delete_manifest(const std::string& repo, const Digest& digest);
    bool delete_tag(const std::string& repo, const std::string& tag);
    [[nodiscard]] std::vector<std::string> tags(const std::string& repo) const;
    [[nodiscard]] bool repository_exists(const std::string& repo) const;
    [[nodiscard]] std::vector<std::string> repositories() const;  // sorted
    [[nodiscard]] std::vector<oci::Descriptor> referrers(const std::string& repo,
                                                         const Digest& subject) const;
    // Every manifest digest a repository links (garbage collection).
    [[nodiscard]] std::vector<Digest> manifests(const std::string& repo) const;
    [[nodiscard]] std::vector<Digest> linked_blobs(const std::string& repo) const;

    [[nodiscard]] std::string repository_dir(const std::string& repo) const;

  private:
    std::string root_;
    image::ContentStore blobs_;
};

// Writes data beside path under a unique temp name, fsyncs, renames over path.
void write_file_durably(const std::string& path, std::string_view data);
// mkdir -p (0755).
void make_directories(const std::string& path);
void fsync_directory(const std::string& path);

}  // namespace berth::registry
