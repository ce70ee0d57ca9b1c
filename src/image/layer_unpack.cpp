#include "image/layer_unpack.hpp"

#include "image/decompress.hpp"
#include "image/read_ahead.hpp"

namespace berth::image {

UnpackResult unpack_layer(ByteSource& compressed, int dir_fd, WhiteoutMode whiteouts,
                          const std::optional<Digest>& expected_diff_id, const std::string& what) {
    std::unique_ptr<ByteSource> tar = decompressing_source(compressed, what);
    // The inflate on a thread of its own, the diff-ID hash and the tar's file writes on
    // this one: the biggest layer, the last to finish, then has two cores.
    ReadAheadSource inflated(*tar);
    HashingSource hashed(
        inflated, expected_diff_id ? expected_diff_id->algorithm() : DigestAlgorithm::sha256);
    UnpackResult result;
    result.stats = apply_layer(hashed, dir_fd, ApplyOptions{whiteouts}, what);
    hashed.drain();
    result.size = static_cast<int64_t>(hashed.bytes());
    result.diff_id = hashed.finish();
    if (expected_diff_id && result.diff_id != *expected_diff_id)
        throw LayerError(what + ": diff ID mismatch: the config says " + expected_diff_id->str() +
                         ", the uncompressed layer hashes to " + result.diff_id.str());
    return result;
}

}  // namespace berth::image
