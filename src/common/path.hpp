// Lexical path helpers and resolution of paths inside a root directory (a container
// rootfs), where symlinks can never lead outside that root.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/unique_fd.hpp"

namespace berth {

// Lexical cleanup as Go's filepath.Clean: collapses "//", ".", and ".." (never above "/").
std::string clean_path(std::string_view path);
std::string join_path(std::string_view base, std::string_view relative);
inline bool is_absolute_path(std::string_view path) {
    return !path.empty() && path[0] == '/';
}
std::string parent_path(std::string_view path);
std::string base_name(std::string_view path);

// The running executable's directory (empty if unknown): berth, berth-monitor and
// berth-runtime are looked for there first (a build tree or an installation keeps them
// together).
std::string own_directory();

// openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): "..", absolute symlinks and absolute
// paths all stay under root_fd. Throws SystemError naming `path`.
UniqueFd open_in_root(int root_fd, std::string_view path, int flags, mode_t mode = 0);

// Like open_in_root, but returns an invalid fd instead of throwing when the path is absent.
UniqueFd try_open_in_root(int root_fd, std::string_view path, int flags, mode_t mode = 0);

// mkdir -p inside root_fd, every component resolved inside the root. Returns an O_PATH fd
// of the final directory.
UniqueFd mkdir_all_in_root(int root_fd, std::string_view path, mode_t mode = 0755);

// Makes sure path exists inside root as a regular file (creating parents and an empty file
// when needed) and returns an O_PATH fd of it. Used for bind-mount targets of files.
UniqueFd ensure_file_in_root(int root_fd, std::string_view path, mode_t mode = 0644);

// "/proc/self/fd/N": the magic link through which mount(2) and friends reach an fd.
std::string fd_path(int fd);

}  // namespace berth
