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

// A --rm container's monitor, before it reports the exit: what remove_container_files does
// that anyone can see (the rootfs mount, the volumes, the rows, the directory under its
// name), with the directory renamed into <root>/containers/.trash instead of deleted, which
// its monitor does right after the report (delete_trash_entry). Returns the renamed path,
// or "" when it was deleted here (the rename failed).
std::string unlist_container_files(image::Database& db, const TeardownPlan& plan);
void delete_trash_entry(const std::string& path);
// What monitors killed between the two left in the trash (create calls it; an entry another
// monitor is deleting meanwhile is no harm).
void empty_trash(const std::string& containers_dir);

// The first part of that: the rootfs unmounted, the overlay's upper and work directories
// removed (unless keep_layer: the directory goes to the trash whole). Needs no database,
// and may run while the runtime deletes the container (which writes only to the
// directory's runtime.log).
void release_rootfs(const std::string& container_dir, bool keep_layer = false);

// flock on the container directory: a cleanup and an rm never interleave. Released when
// destroyed (or when the process dies).
class ContainerLock {
  public:
    explicit ContainerLock(const std::string& container_dir);

  private:
    UniqueFd fd_;
};

}  // namespace berth::engine
