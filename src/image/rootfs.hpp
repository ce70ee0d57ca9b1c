// A container's root filesystem from an image: an overlayfs whose lower layers are the
// image's snapshots (top first) and whose upper and work directories are the container's
// own, or, where overlayfs is unavailable, a copy: the layers applied one after another.
#pragma once

#include <string>

#include "image/images.hpp"

namespace berth::image {

enum class RootfsMode { automatic, overlay, copy };

// Unmounts the overlay (lazily) when destroyed, unless released.
class RootfsMount {
  public:
    RootfsMount() = default;
    RootfsMount(std::string target, bool mounted) : target_(std::move(target)), mounted_(mounted) {}
    RootfsMount(RootfsMount&& other) noexcept;
    RootfsMount& operator=(RootfsMount&& other) noexcept;
    RootfsMount(const RootfsMount&) = delete;
    RootfsMount& operator=(const RootfsMount&) = delete;
    ~RootfsMount();

    [[nodiscard]] bool is_overlay() const { return mounted_; }
    [[nodiscard]] const std::string& target() const { return target_; }
    void release() { mounted_ = false; }
    void unmount();

  private:
    std::string target_;
    bool mounted_ = false;
};

// Makes the empty directory target the image's rootfs. scratch (on the same filesystem as
// the root for overlay) receives upper/ and work/. Makes the snapshots the image lacks first.
// transient: the writable layer is thrown away with the container (`run --rm`), so overlayfs
// may skip syncing it (`volatile`): its unmount then no longer writes back the whole
// filesystem under it.
RootfsMount prepare_rootfs(Images& images, const Image& image, const std::string& target,
                           const std::string& scratch, RootfsMode mode = RootfsMode::automatic,
                           bool transient = false);

// An overlay of existing snapshots (chain: base first) at target. With upper (and work, on
// the same filesystem), writable: a build step's rootfs, whose upper directory is the step's
// layer afterwards; without, read-only (empty, a directory to put at the bottom so that a
// single layer makes an overlay too, is needed then). transient: see prepare_rootfs.
RootfsMount mount_snapshots(Images& images, const std::vector<Digest>& chain,
                            const std::string& target, const std::string& upper,
                            const std::string& work, const std::string& empty,
                            bool transient = false);

// Whether this kernel offers overlayfs (/proc/filesystems).
bool overlay_supported();

}  // namespace berth::image
