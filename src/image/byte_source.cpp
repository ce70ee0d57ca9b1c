#include "image/byte_source.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/error.hpp"

namespace berth::image {

size_t FdSource::read(void* buffer, size_t size) {
    for (;;) {
        ssize_t n = ::read(fd_, buffer, size);
        if (n >= 0) return static_cast<size_t>(n);
        if (errno != EINTR) throw_errno("read", name_);
    }
}

size_t MemorySource::read(void* buffer, size_t size) {
    size_t n = std::min(size, data_.size());
    std::memcpy(buffer, data_.data(), n);
    data_.remove_prefix(n);
    return n;
}

size_t HashingSource::read(void* buffer, size_t size) {
    size_t n = inner_.read(buffer, size);
    hasher_.update(buffer, n);
    bytes_ += n;
    return n;
}

void HashingSource::drain() {
    std::vector<char> buffer(64 * 1024);
    while (read(buffer.data(), buffer.size()) > 0) {
    }
}

size_t read_full(ByteSource& source, void* buffer, size_t size) {
    size_t done = 0;
    auto* out = static_cast<char*>(buffer);
    while (done < size) {
        size_t n = source.read(out + done, size - done);
        if (n == 0) break;
        done += n;
    }
    return done;
}

}  // namespace berth::image
