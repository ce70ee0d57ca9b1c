// Push-style byte streams for writing layers: a tar stream flows into a hashing sink (the
// diff ID), a compressor (gzip with isa-l's igzip, zstd with libzstd) and a blob writer
// (the blob digest), without being held whole in memory. The output of both compressors is
// a function of the input alone (no time, no name in the gzip header, single-threaded zstd):
// the same tar gives the same blob, which reproducible builds rely on.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "common/digest.hpp"
#include "image/content_store.hpp"
#include "oci/media_types.hpp"

namespace berth::image {

class ByteSink {
  public:
    virtual ~ByteSink() = default;
    virtual void write(const void* data, size_t size) = 0;
    // The end of the stream (compressors write their trailer).
    virtual void finish() {}
};

// Counts and hashes what passes through to next.
class HashingSink : public ByteSink {
  public:
    explicit HashingSink(ByteSink& next) : next_(next) {}
    void write(const void* data, size_t size) override;
    void finish() override { next_.finish(); }
    [[nodiscard]] int64_t bytes() const { return bytes_; }
    Digest digest() { return hasher_.finish(); }

  private:
    ByteSink& next_;
    Hasher hasher_;
    int64_t bytes_ = 0;
};

// Into a blob being written to the content store.
class BlobSink : public ByteSink {
  public:
    explicit BlobSink(BlobWriter& writer) : writer_(writer) {}
    void write(const void* data, size_t size) override { writer_.write(data, size); }

  private:
    BlobWriter& writer_;
};

// Discards (measuring alone).
class NullSink : public ByteSink {
  public:
    void write(const void*, size_t) override {}
};

// A compressor writing into next; Compression::none passes the bytes on as they are.
// level: 0 for the default (gzip: isa-l level 1; zstd: 3).
std::unique_ptr<ByteSink> compressing_sink(oci::Compression compression, ByteSink& next,
                                           int level = 0);

}  // namespace berth::image
