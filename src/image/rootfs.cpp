#include "image/rootfs.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "common/file.hpp"
#include "common/log.hpp"
#include "common/path.hpp"
#include "common/user_namespace.hpp"

namespace berth::image {

RootfsMount::RootfsMount(RootfsMount&& other) noexcept
    : target_(std::move(other.target_)), mounted_(std::exchange(other.mounted_, false)) {}

RootfsMount& RootfsMount::operator=(RootfsMount&& other) noexcept {
    if (this != &other) {
        unmount();
        target_ = std::move(other.target_);
        mounted_ = std::exchange(other.mounted_, false);
    }
    return *this;
}

RootfsMount::~RootfsMount() {
    unmount();
}

void RootfsMount::unmount() {
    if (mounted_ && ::umount2(target_.c_str(), MNT_DETACH) < 0)
        log::warn("unmount " + target_ + ": " + std::strerror(errno));
    mounted_ = false;
}

bool overlay_supported() {
    auto text = read_file_if_exists("/proc/filesystems");
    return text && text->find("\toverlay\n") != std::string::npos;
}

RootfsMount prepare_rootfs(Images& images, const Image& image, const std::string& target,
                           const std::string& scratch, RootfsMode mode, bool transient) {
    bool overlay = mode == RootfsMode::overlay ||
                   (mode == RootfsMode::automatic && overlay_supported() && ::geteuid() == 0);
    if (!overlay) {
        UniqueFd dir = open_file(target, O_RDONLY | O_DIRECTORY);
        images.unpack_flat(image, dir.get());
        return {target, false};
    }
    for (size_t i = 0; i < image.chain.size(); ++i)
        images.ensure_snapshot(image, i);
    std::string upper = scratch + "/upper", work = scratch + "/work";
    for (const auto& d : {upper, work})
        if (::mkdir(d.c_str(), 0755) < 0 && errno != EEXIST) throw_errno("mkdir", d);
    // Lower directories as /proc/self/fd/N: short, whatever the root's path and the
    // number of layers (a mount's options are limited to one page).
    std::vector<UniqueFd> lowers;
    std::string lowerdir;
    for (auto it = image.chain.rbegin(); it != image.chain.rend(); ++it) {
        lowers.push_back(open_file(images.snapshots().fs_path(*it), O_PATH | O_DIRECTORY));
        if (!lowerdir.empty()) lowerdir += ':';
        lowerdir += fd_path(lowers.back().get());
    }
    if (lowers.empty()) {
        std::string empty = scratch + "/empty";
        if (::mkdir(empty.c_str(), 0755) < 0 && errno != EEXIST) throw_errno("mkdir", empty);
        lowerdir = empty;
    }
    std::string options = "lowerdir=" + lowerdir + ",upperdir=" + upper + ",workdir=" + work;
    // In a user namespace (rootless) overlayfs keeps its xattrs as user.overlay.*, where the
    // layers' opaque markers are too (layer_apply.cpp).
    if (!in_initial_user_namespace()) options += ",userxattr";
    int rc = -1;
    // volatile needs Linux 5.10: without it, the mount is the same, only synced.
    if (transient)
        rc = ::mount("overlay", target.c_str(), "overlay", 0, (options + ",volatile").c_str());
    if (rc < 0) rc = ::mount("overlay", target.c_str(), "overlay", 0, options.c_str());
    if (rc < 0) {
        int saved = errno;
        if (mode == RootfsMode::overlay) throw_system_error(saved, "mount overlay on", target);
        log::warn("overlayfs on " + target + ": " + std::strerror(saved) + "; copying layers");
        UniqueFd dir = open_file(target, O_RDONLY | O_DIRECTORY);
        images.unpack_flat(image, dir.get());
        return {target, false};
    }
    return {target, true};
}

}  // namespace berth::image

namespace berth::image {

RootfsMount mount_snapshots(Images& images, const std::vector<Digest>& chain,
                            const std::string& target, const std::string& upper,
                            const std::string& work, const std::string& empty, bool transient) {
    std::vector<UniqueFd> lowers;
    std::string lowerdir;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        lowers.push_back(open_file(images.snapshots().fs_path(*it), O_PATH | O_DIRECTORY));
        if (!lowerdir.empty()) lowerdir += ':';
        lowerdir += fd_path(lowers.back().get());
    }
    if (upper.empty() || lowers.empty()) {
        if (empty.empty()) throw Error("mount overlay on " + target + ": no empty lower directory");
        if (::mkdir(empty.c_str(), 0755) < 0 && errno != EEXIST) throw_errno("mkdir", empty);
        if (!lowerdir.empty()) lowerdir += ':';
        lowerdir += empty;
    }
    std::string options = "lowerdir=" + lowerdir;
    if (!upper.empty()) options += ",upperdir=" + upper + ",workdir=" + work;
    if (!in_initial_user_namespace()) options += ",userxattr";
    int rc = -1;
    if (transient && !upper.empty())
        rc = ::mount("overlay", target.c_str(), "overlay", 0, (options + ",volatile").c_str());
    if (rc < 0) rc = ::mount("overlay", target.c_str(), "overlay", 0, options.c_str());
    if (rc < 0) throw_errno("mount overlay on", target);
    return {target, true};
}

}  // namespace berth::image
