#include "build/archive.hpp"

#include <archive.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "image/byte_source.hpp"
#include "image/layer_apply.hpp"

namespace berth::build {
namespace {

// The compressions docker's ADD reads (and zstd): libarchive's other filters (lz4, lzo, ...)
// would pull libraries berth does not link.
void support_filters(archive* a) {
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_bzip2(a);
    archive_read_support_filter_xz(a);
    archive_read_support_filter_lzma(a);
    archive_read_support_filter_zstd(a);
}

// What a decompressing libarchive reader yields, as a byte stream: the tar itself, in any
// compression (image/decompress reads gzip and zstd only).
class DecompressedSource : public image::ByteSource {
  public:
    DecompressedSource(int fd, std::string what) : what_(std::move(what)) {
        a_ = archive_read_new();
        support_filters(a_);
        archive_read_support_format_raw(a_);
        if (archive_read_open_fd(a_, fd, 65536) != ARCHIVE_OK) fail();
        archive_entry* entry = nullptr;
        if (archive_read_next_header(a_, &entry) != ARCHIVE_OK) fail();
    }
    ~DecompressedSource() override { archive_read_free(a_); }
    DecompressedSource(const DecompressedSource&) = delete;
    DecompressedSource& operator=(const DecompressedSource&) = delete;
    size_t read(void* buffer, size_t size) override {
        la_ssize_t n = archive_read_data(a_, buffer, size);
        if (n < 0) fail();
        return static_cast<size_t>(n);
    }

  private:
    [[noreturn]] void fail() {
        const char* m = archive_error_string(a_);
        throw Error(what_ + ": " + (m ? m : "cannot read the archive"));
    }
    archive* a_;
    std::string what_;
};

}  // namespace

bool is_archive(int fd) {
    archive* a = archive_read_new();
    support_filters(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    bool ok = false;
    UniqueFd dup(::dup(fd));
    if (dup && ::lseek(dup.get(), 0, SEEK_SET) == 0 &&
        archive_read_open_fd(a, dup.get(), 65536) == ARCHIVE_OK) {
        archive_entry* entry = nullptr;
        ok = archive_read_next_header(a, &entry) == ARCHIVE_OK;
    }
    archive_read_free(a);
    ::lseek(fd, 0, SEEK_SET);
    return ok;
}

void unpack_tarball(int fd, int dir_fd, const std::string& what) {
    DecompressedSource tar(fd, what);
    image::apply_layer(tar, dir_fd, {}, what);
}

}  // namespace berth::build
