// Tarballs that builds read: ADD's local archives and contexts given as a tarball (stdin, a
// URL), in any compression libarchive reads (gzip, bzip2, xz, zstd, none).
#pragma once

#include <string>

namespace berth::build {

// Whether the file at fd (a regular file; its offset is reset) starts a tar archive.
bool is_archive(int fd);

// Unpacks the tarball read from fd into the directory dir_fd, every entry kept inside it
// (image/layer_apply.hpp: absolute names, "..", and symlinks cannot lead out). Throws Error
// naming what.
void unpack_tarball(int fd, int dir_fd, const std::string& what);

}  // namespace berth::build
