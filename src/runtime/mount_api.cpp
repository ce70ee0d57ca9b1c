#include "runtime/mount_api.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include "common/error.hpp"

namespace berth::runtime {

UniqueFd clone_mount_tree(const std::string& path, bool recursive) {
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
    int fd = ::open_tree(AT_FDCWD, path.c_str(), flags);
    if (fd < 0) throw_errno("bind mount source", path);
    return UniqueFd(fd);
}

void set_mount_attributes(int fd, uint64_t set, uint64_t clear, bool recursive,
                          const std::string& what, uint64_t propagation) {
    if (set == 0 && clear == 0 && propagation == 0) return;
    mount_attr attr{};
    attr.attr_set = set;
    attr.attr_clr = clear;
    attr.propagation = propagation;
    unsigned flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
    if (::mount_setattr(fd, "", flags, &attr, sizeof attr) < 0)
        throw_errno("set mount attributes of", what);
}

void attach_mount_tree(int tree_fd, int target_fd, const std::string& what) {
    if (::move_mount(tree_fd, "", target_fd, "",
                     MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        throw_errno("mount on", what);
}

uint64_t mount_attributes_from_flags(unsigned long flags) {
    uint64_t attr = 0;
    if (flags & MS_RDONLY) attr |= MOUNT_ATTR_RDONLY;
    if (flags & MS_NOSUID) attr |= MOUNT_ATTR_NOSUID;
    if (flags & MS_NODEV) attr |= MOUNT_ATTR_NODEV;
    if (flags & MS_NOEXEC) attr |= MOUNT_ATTR_NOEXEC;
    if (flags & MS_NODIRATIME) attr |= MOUNT_ATTR_NODIRATIME;
    if (flags & 256 /* MS_NOSYMFOLLOW */) attr |= MOUNT_ATTR_NOSYMFOLLOW;
    return attr;
}

}  // namespace berth::runtime
