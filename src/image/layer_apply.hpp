// Applies a layer (an uncompressed tar stream) to a directory, entry by entry, through
// directory fds: no entry can land outside the directory. Absolute entry names are taken as
// relative to it; names that climb out with ".." are rejected; parents are resolved inside
// it, and a parent path that goes through a symlink pointing out of it (absolute, or
// climbing above it) is rejected, wherever that symlink came from. Regular files, dirs,
// symlinks, hardlinks, device nodes, fifos, owners, modes, mtimes and xattrs are kept.
#pragma once

#include <cstdint>
#include <string>

#include "image/byte_source.hpp"

namespace berth::image {

// What whiteouts (".wh.NAME", ".wh..wh..opq") become.
enum class WhiteoutMode {
    // The layer is unpacked alone, for an overlayfs stack: a whiteout becomes a 0/0 character
    // device, an opaque marker the xattr trusted.overlay.opaque=y on its directory.
    overlay,
    // The layer is applied on top of the layers below it (a flattened rootfs): whiteouts
    // remove what they name; an opaque marker empties its directory of what lower layers put
    // there.
    remove,
};

struct ApplyOptions {
    WhiteoutMode whiteouts = WhiteoutMode::remove;
    // The root entry ("./") is not applied: the directory keeps its own owner, mode and times,
    // as docker's archive.Unpack into an existing directory (a build's ADD of a tarball).
    bool skip_root_entry = false;
};

struct ApplyStats {
    uint64_t entries = 0;
    uint64_t file_bytes = 0;  // bytes of regular file data written
};

// A layer whose content berth refuses (escaping entries, bad names, corrupt tar).
class LayerError : public Error {
  public:
    using Error::Error;
};

// Reads the tar from `tar` (to its end marker) and applies it under root_fd. Errors are one
// line: "WHAT: entry \"NAME\": why". On error the directory is left as it is (callers unpack
// into a temp directory and discard it).
ApplyStats apply_layer(ByteSource& tar, int root_fd, const ApplyOptions& options,
                       const std::string& what);

}  // namespace berth::image
