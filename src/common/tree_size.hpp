#pragma once

#include <cstdint>
#include <string>

namespace berth {

// The disk space the files under path occupy (allocated blocks, each inode once; symlinks not
// followed, other filesystems mounted below not entered). 0 when path does not exist.
int64_t tree_disk_usage(const std::string& path);

}  // namespace berth
