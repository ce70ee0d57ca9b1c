// A layer from an overlayfs upper directory: what a container (or a build step) changed,
// as an OCI layer tar. Whiteouts (0/0 character devices) become ".wh.NAME" entries, opaque
// directories (the trusted.overlay.opaque or, in a user namespace, user.overlay.opaque
// xattr) a ".wh..wh..opq" entry, and overlayfs' own xattrs are left out. The tar is
// normalised: entries sorted by name (parents first), numeric owners only, whole-second
// times, no atime/ctime, hard links kept within the layer; with clamp_mtime, no time is
// later than it (SOURCE_DATE_EPOCH).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "image/compress.hpp"

namespace berth::image {

struct LayerDiffOptions {
    std::optional<int64_t> clamp_mtime;  // seconds since the epoch
};

struct LayerDiffStats {
    int64_t entries = 0;
    int64_t file_bytes = 0;
};

// Writes the tar of the upper directory dir_fd into out (finish() is called at the end).
// Throws Error naming `what` and the entry.
LayerDiffStats write_upper_dir_tar(int dir_fd, ByteSink& out, const LayerDiffOptions& options,
                                   const std::string& what);

// The overlayfs xattrs of an upper directory carry these prefixes (trusted.* for root's
// overlays, user.* with userxattr).
bool is_overlay_xattr(std::string_view name);

}  // namespace berth::image
