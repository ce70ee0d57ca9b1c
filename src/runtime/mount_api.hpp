// Thin wrappers over the new mount API (open_tree, mount_setattr, move_mount): glibc 2.36
// has no wrappers for all of them.
#pragma once

#include <sys/mount.h>

#include <cstdint>
#include <string>

#include "common/unique_fd.hpp"

namespace berth::runtime {

// A detached copy of the mount tree at path (OPEN_TREE_CLONE), recursive when asked.
UniqueFd clone_mount_tree(const std::string& path, bool recursive);
// mount_setattr(2) on an fd (AT_EMPTY_PATH); `what` names it in errors.
void set_mount_attributes(int fd, uint64_t set, uint64_t clear, bool recursive,
                          const std::string& what, uint64_t propagation = 0);
// Attaches a detached tree onto the target fd (both by fd, so no path is re-resolved).
void attach_mount_tree(int tree_fd, int target_fd, const std::string& what);

// MS_* attribute flags -> MOUNT_ATTR_* (for set and for clear).
uint64_t mount_attributes_from_flags(unsigned long flags);

}  // namespace berth::runtime
