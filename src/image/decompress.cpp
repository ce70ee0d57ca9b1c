#include "image/decompress.hpp"

#include <isa-l/igzip_lib.h>
#include <zstd.h>

#include <cstring>
#include <vector>

#include "common/error.hpp"

namespace berth::image {
namespace {

constexpr size_t kInputBuffer = 256 * 1024;

// Gives back the bytes read to detect the format, then the rest of the stream.
class PrefixedSource : public ByteSource {
  public:
    PrefixedSource(ByteSource& inner, std::string prefix)
        : inner_(inner), prefix_(std::move(prefix)) {}
    size_t read(void* buffer, size_t size) override {
        if (offset_ < prefix_.size()) {
            size_t n = std::min(size, prefix_.size() - offset_);
            std::memcpy(buffer, prefix_.data() + offset_, n);
            offset_ += n;
            return n;
        }
        return inner_.read(buffer, size);
    }

  private:
    ByteSource& inner_;
    std::string prefix_;
    size_t offset_ = 0;
};

class GzipSource : public ByteSource {
  public:
    GzipSource(std::unique_ptr<ByteSource> input, std::string what)
        : input_(std::move(input)),
          what_(std::move(what)),
          state_(std::make_unique<inflate_state>()),
          buffer_(kInputBuffer) {
        start_member();
    }

    size_t read(void* out, size_t size) override {
        if (size == 0) return 0;
        for (;;) {
            if (member_done_) {
                // Concatenated gzip members are one stream (gzip(1) reads them so); zero
                // bytes after the last one are block padding (tar -z writes it).
                if (state_->avail_in == 0) refill();
                if (state_->avail_in == 0) return 0;
                if (state_->next_in[0] == 0) {
                    skip_zero_padding();
                    return 0;
                }
                start_member();
            }
            if (state_->avail_in == 0 && !input_eof_) refill();
            state_->next_out = static_cast<uint8_t*>(out);
            state_->avail_out = static_cast<uint32_t>(std::min<size_t>(size, UINT32_MAX));
            int ret = isal_inflate(state_.get());
            if (ret < 0) fail(ret);
            size_t produced = size - state_->avail_out;
            if (state_->block_state == ISAL_BLOCK_FINISH) member_done_ = true;
            if (produced > 0) return produced;
            if (!member_done_ && state_->avail_in == 0 && input_eof_)
                throw Error(what_ + ": gzip data is truncated");
        }
    }

  private:
    void start_member() {
        uint8_t* next = state_->next_in;
        uint32_t avail = state_->avail_in;
        isal_inflate_init(state_.get());
        state_->crc_flag = ISAL_GZIP;
        state_->next_in = next;
        state_->avail_in = avail;
        member_done_ = false;
    }

    void skip_zero_padding() {
        for (;;) {
            for (uint32_t i = 0; i < state_->avail_in; ++i)
                if (state_->next_in[i] != 0) throw Error(what_ + ": garbage after the gzip data");
            state_->avail_in = 0;
            refill();
            if (state_->avail_in == 0) return;
        }
    }

    void refill() {
        if (input_eof_) return;
        size_t n = input_->read(buffer_.data(), buffer_.size());
        if (n == 0) input_eof_ = true;
        state_->next_in = buffer_.data();
        state_->avail_in = static_cast<uint32_t>(n);
    }

    [[noreturn]] void fail(int code) const {
        const char* why = "corrupt gzip data";
        switch (code) {
            case ISAL_INVALID_WRAPPER:
                why = "not gzip data (bad header)";
                break;
            case ISAL_UNSUPPORTED_METHOD:
                why = "unsupported gzip compression method";
                break;
            case ISAL_INCORRECT_CHECKSUM:
                why = "gzip checksum mismatch";
                break;
            default:
                break;
        }
        throw Error(what_ + ": " + why);
    }

    std::unique_ptr<ByteSource> input_;
    std::string what_;
    std::unique_ptr<inflate_state> state_;
    std::vector<uint8_t> buffer_;
    bool input_eof_ = false;
    bool member_done_ = false;
};

struct ZstdContextDeleter {
    void operator()(ZSTD_DCtx* ctx) const { ZSTD_freeDCtx(ctx); }
};

class ZstdSource : public ByteSource {
  public:
    ZstdSource(std::unique_ptr<ByteSource> input, std::string what)
        : input_(std::move(input)),
          what_(std::move(what)),
          ctx_(ZSTD_createDCtx()),
          buffer_(ZSTD_DStreamInSize()) {
        if (!ctx_) throw Error(what_ + ": cannot create a zstd context");
    }

    size_t read(void* out, size_t size) override {
        if (size == 0) return 0;
        for (;;) {
            if (in_.pos == in_.size && !input_eof_) {
                size_t n = input_->read(buffer_.data(), buffer_.size());
                if (n == 0) input_eof_ = true;
                in_ = {buffer_.data(), n, 0};
            }
            if (in_.pos == in_.size && input_eof_) {
                if (!frame_done_) throw Error(what_ + ": zstd data is truncated");
                return 0;
            }
            if (frame_done_ && static_cast<const char*>(in_.src)[in_.pos] == 0) {
                skip_zero_padding();
                continue;
            }
            ZSTD_outBuffer output{out, size, 0};
            size_t ret = ZSTD_decompressStream(ctx_.get(), &output, &in_);
            if (ZSTD_isError(ret))
                throw Error(what_ + ": corrupt zstd data (" + ZSTD_getErrorName(ret) + ")");
            frame_done_ = ret == 0;
            if (output.pos > 0) return output.pos;
        }
    }

  private:
    // Zero bytes after the last frame are block padding (tar --zstd writes it).
    void skip_zero_padding() {
        for (;;) {
            const char* p = static_cast<const char*>(in_.src);
            for (size_t i = in_.pos; i < in_.size; ++i)
                if (p[i] != 0) throw Error(what_ + ": garbage after the zstd data");
            in_.pos = in_.size;
            size_t n = input_->read(buffer_.data(), buffer_.size());
            if (n == 0) {
                input_eof_ = true;
                return;
            }
            in_ = {buffer_.data(), n, 0};
        }
    }

    std::unique_ptr<ByteSource> input_;
    std::string what_;
    std::unique_ptr<ZSTD_DCtx, ZstdContextDeleter> ctx_;
    std::vector<char> buffer_;
    ZSTD_inBuffer in_{nullptr, 0, 0};
    bool input_eof_ = false;
    bool frame_done_ = true;
};

}  // namespace

oci::Compression detect_compression(const void* data, size_t size) {
    const auto* b = static_cast<const unsigned char*>(data);
    if (size >= 2 && b[0] == 0x1f && b[1] == 0x8b) return oci::Compression::gzip;
    if (size >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
        return oci::Compression::zstd;
    return oci::Compression::none;
}

std::unique_ptr<ByteSource> decompressing_source(ByteSource& compressed, const std::string& what) {
    std::string magic(4, '\0');
    magic.resize(read_full(compressed, magic.data(), magic.size()));
    oci::Compression compression = detect_compression(magic.data(), magic.size());
    auto input = std::make_unique<PrefixedSource>(compressed, std::move(magic));
    switch (compression) {
        case oci::Compression::gzip:
            return std::make_unique<GzipSource>(std::move(input), what);
        case oci::Compression::zstd:
            return std::make_unique<ZstdSource>(std::move(input), what);
        case oci::Compression::none:
            break;
    }
    return input;
}

}  // namespace berth::image
