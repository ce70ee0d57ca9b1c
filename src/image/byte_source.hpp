// Pull-style byte streams: layers flow blob -> decompression -> hashing -> tar without ever
// being held whole in memory or copied to disk first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/digest.hpp"

namespace berth::image {

class ByteSource {
  public:
    virtual ~ByteSource() = default;
    // Up to size bytes into buffer; 0 only at the end of the stream. Throws on errors.
    virtual size_t read(void* buffer, size_t size) = 0;
};

// read(2) from an fd it does not own.
class FdSource : public ByteSource {
  public:
    FdSource(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
    size_t read(void* buffer, size_t size) override;

  private:
    int fd_;
    std::string name_;
};

class MemorySource : public ByteSource {
  public:
    explicit MemorySource(std::string_view data) : data_(data) {}
    size_t read(void* buffer, size_t size) override;

  private:
    std::string_view data_;
};

// Passes bytes through while hashing and counting them.
class HashingSource : public ByteSource {
  public:
    explicit HashingSource(ByteSource& inner, DigestAlgorithm algorithm = DigestAlgorithm::sha256)
        : inner_(inner), hasher_(algorithm) {}
    size_t read(void* buffer, size_t size) override;
    // Reads and hashes what is left (a tar's padding after its end marker counts too).
    void drain();
    [[nodiscard]] uint64_t bytes() const { return bytes_; }
    Digest finish() { return hasher_.finish(); }

  private:
    ByteSource& inner_;
    Hasher hasher_;
    uint64_t bytes_ = 0;
};

// Reads exactly size bytes (fewer only at the end of the stream); returns how many.
size_t read_full(ByteSource& source, void* buffer, size_t size);

}  // namespace berth::image
