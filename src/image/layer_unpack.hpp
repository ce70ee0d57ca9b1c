// One layer from its blob to a directory in one pass: decompress (gzip/zstd/none), hash the
// tar for its diff ID, apply it, and check the diff ID against the image config's.
#pragma once

#include <optional>
#include <string>

#include "common/digest.hpp"
#include "image/byte_source.hpp"
#include "image/layer_apply.hpp"

namespace berth::image {

struct UnpackResult {
    Digest diff_id;
    int64_t size = 0;  // bytes of the uncompressed tar
    ApplyStats stats;
};

// Throws LayerError / Error naming `what` (e.g. "layer sha256:..."); a diff ID that differs
// from expected_diff_id is an error too (the directory then holds a partial layer: callers
// unpack into temp directories).
UnpackResult unpack_layer(ByteSource& compressed, int dir_fd, WhiteoutMode whiteouts,
                          const std::optional<Digest>& expected_diff_id, const std::string& what);

}  // namespace berth::image
