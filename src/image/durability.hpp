// Snapshots become durable after they are published, not before: a pull renames its
// snapshots into place at once, each holding a marker with the boot ID, and a detached
// process flushes the filesystems (sync) and then removes the markers. Until then the files
// are in the page cache, which only an OS crash can lose; so a snapshot whose marker names
// another boot may have lost data and is unpacked again from its blob, which is fsynced
// before it becomes visible (content_store.hpp). This keeps the disk flush off the pull's
// critical path, the way podman and containerd leave layer files to writeback, without
// their risk of an empty file after a crash.
#pragma once

#include <string>
#include <vector>

namespace berth::image {

// The marker's name inside a snapshot directory.
inline constexpr const char* kPendingSyncMarker = "pending-sync";

// /proc/sys/kernel/random/boot_id (read once).
const std::string& current_boot_id();

// Starts a detached process (a shell running sync(1), then rm(1) of the markers, absolute
// paths, if dir is still the same directory). It holds none of our fds, mappings or cwd, so
// no pipe, lock or busy mount is left behind; sync rather than syncfs for the same reason
// (syncfs would need an fd on the store). Errors are ignored: a marker left behind costs an
// unpack after the next reboot, never a wrong tree.
void flush_in_background(const std::string& dir, const std::vector<std::string>& markers);

}  // namespace berth::image
