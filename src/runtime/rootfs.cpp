#include "runtime/rootfs.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/path.hpp"
#include "common/strings.hpp"
#include "runtime/devices.hpp"
#include "runtime/mount_api.hpp"
#include "runtime/mounts.hpp"

namespace berth::runtime {
namespace {

// pivot_root(2) refuses a shared parent mount; find the mount holding `path` from
// mountinfo and make it private (only in our new mount namespace).
void make_parent_mount_private(const std::string& path) {
    std::string best("/");
    for (const auto& line : split(read_file("/proc/self/mountinfo"), '\n')) {
        auto fields = split(line, ' ');
        if (fields.size() < 5) continue;
        const std::string& mountpoint = fields[4];
        bool contains =
            mountpoint == "/" || path == mountpoint ||
            (path.size() > mountpoint.size() &&
             path.compare(0, mountpoint.size(), mountpoint) == 0 && path[mountpoint.size()] == '/');
        if (contains && mountpoint.size() > best.size()) best = mountpoint;
    }
    if (::mount(nullptr, best.c_str(), nullptr, MS_PRIVATE, nullptr) < 0)
        throw_errno("make mount private", best);
}

// A /dev bind-mounted from elsewhere brings its own nodes; anything else gets ours.
bool needs_dev_setup(const oci::Spec& spec) {
    for (const auto& m : spec.mounts) {
        if (clean_path(m.destination) != "/dev") continue;
        bool bind = m.type == "bind";
        for (const auto& o : m.options)
            bind = bind || o == "bind" || o == "rbind";
        if (bind) return false;
    }
    return true;
}

void pivot_into(const std::string& rootfs) {
    UniqueFd old_root = open_file("/", O_DIRECTORY | O_RDONLY);
    UniqueFd new_root = open_file(rootfs, O_DIRECTORY | O_RDONLY);
    if (::fchdir(new_root.get()) < 0) throw_errno("chdir", rootfs);
    // pivot_root(".", "."): the old root ends up stacked on the new one and is then detached,
    // so no directory for it is needed inside the rootfs.
    if (::syscall(SYS_pivot_root, ".", ".") < 0) throw_errno("pivot_root", rootfs);
    if (::fchdir(old_root.get()) < 0) throw_errno("chdir to the old root");
    // Keep the detach below from propagating to the host.
    if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
        throw_errno("make old root slave");
    if (::umount2(".", MNT_DETACH) < 0) throw_errno("detach the old root");
    if (::chdir("/") < 0) throw_errno("chdir /");
}

void move_into(const std::string& rootfs) {
    if (::chdir(rootfs.c_str()) < 0) throw_errno("chdir", rootfs);
    if (::mount(rootfs.c_str(), "/", nullptr, MS_MOVE, nullptr) < 0)
        throw_errno("move rootfs to /", rootfs);
    if (::chroot(".") < 0) throw_errno("chroot", rootfs);
    if (::chdir("/") < 0) throw_errno("chdir /");
}

}  // namespace

void prepare_rootfs(const RootfsContext& ctx) {
    const oci::Spec& spec = *ctx.spec;
    // Nothing we mount may reach back to the host: slave unless asked otherwise.
    unsigned long propagation =
        spec.linux.rootfs_propagation ? spec.linux.rootfs_propagation : (MS_SLAVE | MS_REC);
    if (::mount(nullptr, "/", nullptr, propagation, nullptr) < 0)
        throw_errno("set propagation of /");
    if (propagation & MS_SHARED) make_parent_mount_private(ctx.rootfs);

    if (::mount(ctx.rootfs.c_str(), ctx.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
        throw_errno("bind mount rootfs", ctx.rootfs);
    UniqueFd root = open_file(ctx.rootfs, O_PATH | O_DIRECTORY);

    for (size_t i = 0; i < spec.mounts.size(); ++i)
        mount_entry(ctx, root.get(), spec.mounts[i], i);

    if (needs_dev_setup(spec)) {
        create_device_nodes(root.get(), container_devices(spec.linux), ctx.user_namespace);
        create_dev_symlinks(root.get());
    }

    if (!ctx.cwd.empty()) mkdir_all_in_root(root.get(), ctx.cwd);

    if (ctx.before_pivot) ctx.before_pivot();

    if (ctx.no_pivot)
        move_into(ctx.rootfs);
    else
        pivot_into(ctx.rootfs);
}

void finalize_rootfs(const oci::Spec& spec) {
    for (const auto& path : spec.linux.readonly_paths)
        make_path_readonly(path);
    for (const auto& path : spec.linux.masked_paths)
        mask_path(path);
    if (spec.linux.rootfs_propagation & (MS_SHARED | MS_PRIVATE | MS_UNBINDABLE)) {
        if (::mount(nullptr, "/", nullptr, spec.linux.rootfs_propagation, nullptr) < 0)
            throw_errno("set propagation of the container's /");
    }
    if (spec.root.readonly) {
        UniqueFd root = open_file("/", O_PATH | O_DIRECTORY);
        set_mount_attributes(root.get(), MOUNT_ATTR_RDONLY, 0, false, "/ (root.readonly)");
    }
}

}  // namespace berth::runtime
