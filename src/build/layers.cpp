// A step's root filesystem (an overlay of the stage's snapshots with a fresh upper
// directory) and its layer: the upper directory, normalised (overlayfs' own xattrs removed,
// times clamped to SOURCE_DATE_EPOCH), written as a compressed tar blob while its diff ID is
// hashed, then renamed into place as the layer's snapshot, with no copy.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <algorithm>
#include <ctime>

#include "build/stage_executor.hpp"
#include "common/error.hpp"
#include "common/file.hpp"
#include "common/path.hpp"
#include "common/remove_tree.hpp"
#include "image/compress.hpp"
#include "image/layer_diff.hpp"
#include "image/snapshots.hpp"

namespace berth::build {
namespace {

// Leaves the upper directory as an unpacked layer would be: no overlayfs bookkeeping
// (origin, impure, ...) but the opaque markers, and no time after the clamp.
void normalize_upper(int dir_fd, const std::optional<int64_t>& clamp) {
    for (const auto& name : list_directory(dir_fd, "upper")) {
        struct stat st {};
        if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
        std::string path = fd_path(dir_fd) + "/" + name;
        ssize_t size = ::llistxattr(path.c_str(), nullptr, 0);
        if (size > 0) {
            std::string names(static_cast<size_t>(size), '\0');
            size = ::llistxattr(path.c_str(), names.data(), names.size());
            for (size_t at = 0; size > 0 && at < static_cast<size_t>(size);) {
                std::string x(names.c_str() + at);
                at += x.size() + 1;
                if (image::is_overlay_xattr(x) && !x.ends_with(".overlay.opaque"))
                    ::lremovexattr(path.c_str(), x.c_str());
            }
        }
        if (S_ISDIR(st.st_mode)) {
            UniqueFd sub(
                ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (sub) normalize_upper(sub.get(), clamp);
        }
        if (clamp && (st.st_mtim.tv_sec > *clamp || st.st_atim.tv_sec > *clamp)) {
            timespec times[2] = {{*clamp, 0}, {*clamp, 0}};
            if (st.st_mtim.tv_sec <= *clamp) times[1] = st.st_mtim;
            if (st.st_atim.tv_sec <= *clamp) times[0] = st.st_atim;
            ::utimensat(dir_fd, name.c_str(), times, AT_SYMLINK_NOFOLLOW);
        }
    }
}

void make_dir(const std::string& path) {
    if (::mkdir(path.c_str(), 0755) < 0 && errno != EEXIST) throw_errno("mkdir", path);
}

}  // namespace

StageExecutor::StepRoot::~StepRoot() {
    mount.unmount();
    if (dir.empty()) return;
    try {
        remove_tree(dir);
    } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): the build's scratch
    }                                  // directory goes at its end anyway
}

StageExecutor::StepRoot StageExecutor::mount_step_root(bool writable_over_layers) {
    StepRoot r;
    r.dir = s_.make_scratch_dir("step");
    r.upper = r.dir + "/upper";
    r.work = r.dir + "/work";
    r.rootfs = r.dir + "/rootfs";
    r.empty = r.dir + "/empty";
    for (const auto& d : {r.upper, r.work, r.rootfs})
        make_dir(d);
    std::vector<Digest> chains;
    if (writable_over_layers) {
        s_.ensure_snapshots(state_.layers);
        for (const auto& l : state_.layers)
            chains.push_back(l.chain);
    }
    r.mount =
        image::mount_snapshots(s_.env().images, chains, r.rootfs, r.upper, r.work, r.empty, true);
    return r;
}

std::optional<LayerRef> StageExecutor::commit_layer(StepRoot& root, const Digest& key,
                                                    const std::string& description) {
    root.mount.unmount();
    image::Images& images = s_.env().images;
    std::optional<LayerRef> result;
    {
        UniqueFd upper = open_file(root.upper, O_RDONLY | O_DIRECTORY);
        normalize_upper(upper.get(), s_.source_date_epoch());
        if (!list_directory(upper.get(), root.upper).empty()) {
            image::BlobWriter writer =
                images.store().writer(std::nullopt, std::nullopt, "layer of " + description);
            image::BlobSink blob(writer);
            std::unique_ptr<image::ByteSink> compressor =
                image::compressing_sink(s_.compression(), blob);
            image::HashingSink tar(*compressor);
            image::LayerDiffOptions options;
            options.clamp_mtime = s_.source_date_epoch();
            image::LayerDiffStats stats =
                image::write_upper_dir_tar(upper.get(), tar, options, description);
            if (stats.entries > 0) {
                int64_t blob_size = writer.written();
                Digest blob_digest = writer.commit();
                s_.added_blob(blob_digest);
                Digest diff_id = tar.digest();
                std::optional<Digest> parent;
                if (!state_.layers.empty()) parent = state_.layers.back().chain;
                Digest chain = image::chain_id(parent, diff_id);
                {
                    std::lock_guard lock(s_.db_mutex());
                    images.db().put_layer({blob_digest, diff_id, tar.bytes()});
                }
                image::SnapshotInfo info;
                info.chain_id = chain;
                info.parent = parent;
                info.diff_id = diff_id;
                info.blob = blob_digest;
                info.size = tar.bytes();
                info.entries = stats.entries;
                upper.reset();
                if (auto prepared = images.snapshots().adopt(chain, root.upper, info)) {
                    std::vector<image::PreparedSnapshot> one;
                    one.push_back(std::move(*prepared));
                    images.snapshots().publish(one);
                    s_.added_snapshot(chain);
                }
                result = LayerRef{diff_id, blob_digest,
                                  std::string(oci::layer_media_type(s_.compression(), false)),
                                  blob_size, chain};
            }
        }
    }
    CacheEntry entry;
    entry.key = key;
    entry.description = description;
    entry.layer = result;
    entry.created = static_cast<int64_t>(std::time(nullptr));
    last_created_ = entry.created;
    s_.cache().record(entry);
    s_.added_cache_entry(key);
    s_.used_cache_entry(entry, p_.index);
    return result;
}

}  // namespace berth::build
