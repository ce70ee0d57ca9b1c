// Removing a finished container's files and records: its rootfs mount, its directory, its
// anonymous volumes and its row. Shared by `rm` and by the monitor, which does it itself
// for a --rm container without CNI networks (no second berth process on that path).
// Every step tolerates having been done already.
#pragma once

#include <string>
#include <vector>

#include "common/unique_fd.hpp"
#include "image/state_db.hpp"

namespace berth::engine {

struct TeardownPlan {
    std::string id;
    std::string container_dir;
    std::vector<std::string> volume_dirs;  // anonymous volumes to delete: <root>/volumes/<name>
    std::vector<std::string> volume_names;
};

void remove_container_files(image::Database& db, const TeardownPlan& plan);

// The first part of that: the rootfs unmounted, the overlay's upper and work directories
// removed. Needs no database, and may run while the runtime deletes the container (which
// writes only to the directory's runtime.log).
void release_rootfs(const std::string& container_dir);

// flock on the container directory: a cleanup and an rm never interleave. Released when
// destroyed (or when the process dies).
class ContainerLock {
  public:
    explicit ContainerLock(const std::string& container_dir);

  private:
    UniqueFd fd_;
};

}  // namespace berth::engine
