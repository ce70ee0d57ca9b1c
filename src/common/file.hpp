// Whole-file reads and writes with errors that name the path.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/unique_fd.hpp"

namespace berth {

// open(2) with O_CLOEXEC added; throws SystemError naming the path.
UniqueFd open_file(const std::string& path, int flags, mode_t mode = 0);
UniqueFd open_file_at(int dirfd, const std::string& path, int flags, mode_t mode = 0);

std::string read_file(const std::string& path);
std::string read_fd(int fd, std::string_view name);
// The same, refusing more than limit bytes (before reading when the size is known): a
// one-line error naming the file, its size and the limit.
std::string read_file_limited(const std::string& path, size_t limit);
std::string read_fd_limited(int fd, std::string_view name, size_t limit);
// Empty optional when the file does not exist; other errors throw.
std::optional<std::string> read_file_if_exists(const std::string& path);
// The names in the directory dirfd (without "." and ".."); what names it in errors.
std::vector<std::string> list_directory(int dirfd, const std::string& what);

// Writes all of data to fd, retrying short writes and EINTR.
void write_all(int fd, std::string_view data, std::string_view name);

// Writes all of data to a pipe whose reader may be gone (a child that exited without
// reading its stdin): false on EPIPE or another error, never a SIGPIPE that kills us.
bool write_to_pipe(int fd, std::string_view data);

// Writes to an existing file (procfs, sysfs, cgroupfs) without creating or truncating it.
void write_existing_file(const std::string& path, std::string_view data);

// Creates or truncates path with mode.
void write_file(const std::string& path, std::string_view data, mode_t mode = 0644);

// Writes a temp file beside path, fsyncs it and renames it over path: readers see the
// old or the new content, never a mix, also after a crash.
void write_file_atomic(const std::string& path, std::string_view data, mode_t mode = 0644);

// Readers see the old or the new content, never a mix, but nothing is forced to disk: for
// files that mean nothing after a reboot (runtime state, pid files). The new file is exchanged
// with the old one rather than renamed over it, so ext4's auto_da_alloc does not write it out
// at once (and a later unlink does not wait for a discard of its blocks).
void replace_file(const std::string& path, std::string_view data, mode_t mode = 0644);

}  // namespace berth
