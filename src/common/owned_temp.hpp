// Temporaries that belong to a live process, so that a process killed midway (SIGKILL, a
// crash, a power cut) costs no disk once the next one looks. A temporary - a file or a
// directory - is flocked by its maker for as long as it is a temporary; it is made under a
// name ending in ".new", locked, and only then renamed to its name, so it never appears under
// that name unlocked. Whoever can lock a temporary knows its maker is gone: it is garbage.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>

#include "common/unique_fd.hpp"

namespace berth {

class OwnedTemp {
  public:
    OwnedTemp() = default;
    // A new directory at path (which must not exist), locked.
    static OwnedTemp make_directory(const std::string& path, mode_t mode = 0700);
    // A new file at path, opened O_RDWR, locked; fd() writes to it.
    static OwnedTemp make_file(const std::string& path, mode_t mode = 0644);
    // Takes over an existing directory or file: locks it (waiting for nobody: throws when
    // another process holds it) and renames it to path.
    static OwnedTemp adopt(const std::string& existing, const std::string& path);

    [[nodiscard]] const std::string& path() const { return path_; }
    // The lock, which is also an open fd of the temporary itself.
    [[nodiscard]] int fd() const { return fd_.get(); }
    [[nodiscard]] explicit operator bool() const { return static_cast<bool>(fd_); }
    // Renamed into place or removed: not a temporary any more.
    void release() { fd_.reset(); }

  private:
    OwnedTemp(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
    UniqueFd fd_;
    std::string path_;
};

// Removes the temporaries in dir whose makers are gone: every entry that is_temporary(name)
// accepts and that can be locked; one still being born (".new") only once older than a
// minute. Returns how many were removed. Never throws (a failure leaves the entry for later).
size_t remove_orphaned_temps(const std::string& dir,
                             const std::function<bool(const std::string& name)>& is_temporary);

}  // namespace berth
