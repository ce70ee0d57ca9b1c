// One entry of config.json "mounts", mounted inside the rootfs.
#pragma once

#include <string>

#include "oci/runtime_spec.hpp"
#include "runtime/rootfs.hpp"

namespace berth::runtime {

// root_fd: O_PATH of the rootfs; every target is resolved inside it (openat2
// RESOLVE_IN_ROOT), so a symlink in the image cannot point a mount at the host.
void mount_entry(const RootfsContext& context, int root_fd, const oci::Mount& mount, size_t index);

// Read-only bind of path onto itself (readonlyPaths); missing paths are skipped.
void make_path_readonly(const std::string& path);
// Hides path: /dev/null over a file, an empty read-only tmpfs over a directory.
void mask_path(const std::string& path);

}  // namespace berth::runtime
