#include "image/compress.hpp"

#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/error.hpp"

namespace berth::image {
namespace {

class PassSink : public ByteSink {
  public:
    explicit PassSink(ByteSink& next) : next_(next) {}
    void write(const void* data, size_t size) override { next_.write(data, size); }
    void finish() override { next_.finish(); }

  private:
    ByteSink& next_;
};

// gzip: a fixed 10-byte header (no time, no name, OS "unknown" as Go writes it), isa-l's
// deflate, and the CRC-32 and size trailer.
class GzipSink : public ByteSink {
  public:
    GzipSink(ByteSink& next, int level) : next_(next), out_(256 * 1024) {
        isal_deflate_init(&stream_);
        stream_.gzip_flag = IGZIP_GZIP_NO_HDR;  // isa-l writes the trailer, we the header
        if (level >= 2) {
            stream_.level = 3;
            level_buffer_.resize(ISAL_DEF_LVL3_DEFAULT);
        } else {
            stream_.level = 1;
            level_buffer_.resize(ISAL_DEF_LVL1_DEFAULT);
        }
        stream_.level_buf = level_buffer_.data();
        stream_.level_buf_size = static_cast<uint32_t>(level_buffer_.size());
        static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
        next_.write(header, sizeof header);
    }

    // Input goes to deflate in fixed-size chunks: isa-l's output depends on how the input is
    // split, and a layer's blob must depend on its bytes alone.
    void write(const void* data, size_t size) override {
        const auto* p = static_cast<const uint8_t*>(data);
        while (size > 0) {
            size_t take = std::min(size, chunk_.size() - filled_);
            std::memcpy(chunk_.data() + filled_, p, take);
            filled_ += take;
            p += take;
            size -= take;
            if (filled_ == chunk_.size()) {
                deflate(chunk_.data(), filled_, false);
                filled_ = 0;
            }
        }
    }

    void finish() override {
        deflate(chunk_.data(), filled_, true);
        filled_ = 0;
        next_.finish();
    }

  private:
    void deflate(const void* data, size_t size, bool last) {
        stream_.next_in = static_cast<uint8_t*>(const_cast<void*>(data));
        stream_.avail_in = static_cast<uint32_t>(size);
        stream_.end_of_stream = last ? 1 : 0;
        stream_.flush = NO_FLUSH;
        do {
            stream_.next_out = out_.data();
            stream_.avail_out = static_cast<uint32_t>(out_.size());
            int rc = isal_deflate(&stream_);
            if (rc != COMP_OK)
                throw Error("gzip compression failed (isa-l error " + std::to_string(rc) + ")");
            size_t produced = out_.size() - stream_.avail_out;
            if (produced) next_.write(out_.data(), produced);
        } while (stream_.avail_in > 0 || stream_.avail_out == 0 ||
                 (last && stream_.internal_state.state != ZSTATE_END));
    }

    ByteSink& next_;
    isal_zstream stream_{};
    std::vector<uint8_t> level_buffer_;
    std::vector<uint8_t> out_;
    std::vector<uint8_t> chunk_ = std::vector<uint8_t>(256 * 1024);
    size_t filled_ = 0;
};

class ZstdSink : public ByteSink {
  public:
    ZstdSink(ByteSink& next, int level) : next_(next), out_(ZSTD_CStreamOutSize()) {
        ctx_ = ZSTD_createCCtx();
        if (!ctx_) throw Error("zstd: cannot allocate a compression context");
        ZSTD_CCtx_setParameter(ctx_, ZSTD_c_compressionLevel, level > 0 ? level : 3);
        ZSTD_CCtx_setParameter(ctx_, ZSTD_c_checksumFlag, 1);
    }
    ~ZstdSink() override { ZSTD_freeCCtx(ctx_); }
    ZstdSink(const ZstdSink&) = delete;
    ZstdSink& operator=(const ZstdSink&) = delete;

    void write(const void* data, size_t size) override {
        ZSTD_inBuffer in{data, size, 0};
        while (in.pos < in.size) {
            ZSTD_outBuffer out{out_.data(), out_.size(), 0};
            size_t rc = ZSTD_compressStream2(ctx_, &out, &in, ZSTD_e_continue);
            if (ZSTD_isError(rc)) throw Error(std::string("zstd: ") + ZSTD_getErrorName(rc));
            if (out.pos) next_.write(out_.data(), out.pos);
        }
    }

    void finish() override {
        ZSTD_inBuffer in{nullptr, 0, 0};
        size_t remaining = 0;
        do {
            ZSTD_outBuffer out{out_.data(), out_.size(), 0};
            remaining = ZSTD_compressStream2(ctx_, &out, &in, ZSTD_e_end);
            if (ZSTD_isError(remaining))
                throw Error(std::string("zstd: ") + ZSTD_getErrorName(remaining));
            if (out.pos) next_.write(out_.data(), out.pos);
        } while (remaining != 0);
        next_.finish();
    }

  private:
    ByteSink& next_;
    ZSTD_CCtx* ctx_ = nullptr;
    std::vector<char> out_;
};

}  // namespace

void HashingSink::write(const void* data, size_t size) {
    hasher_.update(data, size);
    bytes_ += static_cast<int64_t>(size);
    next_.write(data, size);
}

std::unique_ptr<ByteSink> compressing_sink(oci::Compression compression, ByteSink& next,
                                           int level) {
    switch (compression) {
        case oci::Compression::gzip:
            return std::make_unique<GzipSink>(next, level);
        case oci::Compression::zstd:
            return std::make_unique<ZstdSink>(next, level);
        case oci::Compression::none:
            break;
    }
    return std::make_unique<PassSink>(next);
}

}  // namespace berth::image
