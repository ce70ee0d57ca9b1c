// Streaming decompression of layer blobs: gzip with isa-l's igzip (several times zlib's
// speed), zstd with libzstd, or none. The format is detected from the first bytes, as docker
// and containerd do; the media type only has to name a layer type.
#pragma once

#include <memory>

#include "image/byte_source.hpp"
#include "oci/media_types.hpp"

namespace berth::image {

// Wraps compressed (not owned); read() yields the decompressed bytes. Corrupt or truncated
// input throws an Error naming `what`.
std::unique_ptr<ByteSource> decompressing_source(ByteSource& compressed, const std::string& what);

// The compression of data by its magic number.
oci::Compression detect_compression(const void* data, size_t size);

}  // namespace berth::image
