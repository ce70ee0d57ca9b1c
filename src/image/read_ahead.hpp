// Reads a source on a thread of its own, a few chunks ahead of the consumer: a layer's
// decompression and hashing then run beside its tar extraction (two cores on one layer).
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "image/byte_source.hpp"

namespace berth::image {

class ReadAheadSource : public ByteSource {
  public:
    explicit ReadAheadSource(ByteSource& inner, size_t chunk_size = 512 * 1024, size_t depth = 4);
    ~ReadAheadSource() override;  // stops the reader (after its current read) and joins it
    ReadAheadSource(const ReadAheadSource&) = delete;
    ReadAheadSource& operator=(const ReadAheadSource&) = delete;

    size_t read(void* buffer, size_t size) override;

  private:
    struct Chunk {
        std::vector<char> data;
        size_t size = 0;
        size_t offset = 0;
    };
    void run();

    ByteSource& inner_;
    size_t chunk_size_;
    size_t depth_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<Chunk> ready_;
    std::vector<std::vector<char>> free_;
    bool done_ = false;  // the reader hit the end (or an error)
    bool stop_ = false;  // the consumer is gone
    std::exception_ptr error_;
    std::thread thread_;
};

}  // namespace berth::image
