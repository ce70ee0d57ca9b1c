// Snapshots: one unpacked directory per layer chain ID, <root>/snapshots/<hex>/fs, shared by
// every image whose layers start with that chain. Each holds one layer's own files (whiteouts
// as overlayfs markers), so a rootfs is an overlayfs of the chain's snapshots. A snapshot is
// unpacked into <root>/snapshots/.tmp/ and renamed into place complete; it is flushed to disk
// in the background afterwards (durability.hpp).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/digest.hpp"
#include "image/content_store.hpp"

namespace berth::image {

// The OCI chain ID: ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " +
// DiffID(Ln)).
Digest chain_id(const std::optional<Digest>& parent, const Digest& diff_id);
std::vector<Digest> chain_ids(const std::vector<Digest>& diff_ids);

struct SnapshotInfo {
    Digest chain_id;
    std::optional<Digest> parent;
    Digest diff_id;
    Digest blob;       // the layer blob it was unpacked from
    int64_t size = 0;  // uncompressed tar size
    int64_t entries = 0;
};

// A snapshot unpacked into its temp directory and not visible yet. Destroyed unpublished,
// it removes the temp directory. No lock is held meanwhile (two pulls waiting for each
// other's unpublished snapshots would deadlock): two processes may unpack one chain at the
// same moment, and the second to publish drops its copy.
class PreparedSnapshot {
  public:
    PreparedSnapshot(PreparedSnapshot&& other) noexcept;
    PreparedSnapshot& operator=(PreparedSnapshot&& other) noexcept;
    PreparedSnapshot(const PreparedSnapshot&) = delete;
    PreparedSnapshot& operator=(const PreparedSnapshot&) = delete;
    ~PreparedSnapshot();
    [[nodiscard]] const Digest& chain() const { return chain_; }

  private:
    friend class Snapshots;
    void discard() noexcept;
    PreparedSnapshot(Digest chain, std::string temp, std::string target)
        : chain_(std::move(chain)), temp_(std::move(temp)), target_(std::move(target)) {}
    Digest chain_;
    std::string temp_, target_;
    bool done_ = false;
};

class Snapshots {
  public:
    explicit Snapshots(std::string root);  // the berth root

    [[nodiscard]] bool has(const Digest& chain) const;
    [[nodiscard]] std::string dir(const Digest& chain) const;
    [[nodiscard]] std::string fs_path(const Digest& chain) const { return dir(chain) + "/fs"; }
    [[nodiscard]] std::optional<SnapshotInfo> info(const Digest& chain) const;
    [[nodiscard]] std::vector<Digest> list() const;

    // Makes the snapshot unless it exists: fill(fs_fd) unpacks into an empty directory and
    // returns the info to record; the result is renamed into place only when fill returns.
    // Returns false when the snapshot was there already (fill not called).
    bool create(const Digest& chain, const std::function<SnapshotInfo(int fs_fd)>& fill);
    // The two halves of create, so that a pull publishes its layers together: prepare
    // unpacks (nullopt when the snapshot exists), publish renames them all into place and
    // starts one background flush for them.
    std::optional<PreparedSnapshot> prepare(const Digest& chain,
                                            const std::function<SnapshotInfo(int fs_fd)>& fill);
    void publish(std::vector<PreparedSnapshot>& prepared);
    // A snapshot from a directory that holds a layer's files in snapshot form already (a
    // build step's overlay upper directory, on the same filesystem as the root): fs_dir is
    // renamed into it (nullopt, fs_dir left alone, when the snapshot exists).
    std::optional<PreparedSnapshot> adopt(const Digest& chain, const std::string& fs_dir,
                                          const SnapshotInfo& info);
    void remove(const Digest& chain);
    // Leftovers of unpacks that crashed; only under gc's exclusive lock.
    void remove_stale_temp();
    [[nodiscard]] FileLock lock(const Digest& chain) const;

  private:
    std::string root_;
};

}  // namespace berth::image
