#include "image/read_ahead.hpp"

#include <cstring>

namespace berth::image {

ReadAheadSource::ReadAheadSource(ByteSource& inner, size_t chunk_size, size_t depth)
    : inner_(inner), chunk_size_(chunk_size), depth_(depth) {
    for (size_t i = 0; i < depth_; ++i)
        free_.emplace_back(chunk_size_);
    thread_ = std::thread([this] { run(); });
}

ReadAheadSource::~ReadAheadSource() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    changed_.notify_all();
    thread_.join();
}

void ReadAheadSource::run() {
    for (;;) {
        std::vector<char> buffer;
        {
            std::unique_lock lock(mutex_);
            changed_.wait(lock, [&] { return stop_ || !free_.empty(); });
            if (stop_) return;
            buffer = std::move(free_.back());
            free_.pop_back();
        }
        Chunk chunk;
        try {
            chunk.size = read_full(inner_, buffer.data(), buffer.size());
        } catch (...) {
            std::lock_guard lock(mutex_);
            error_ = std::current_exception();
            done_ = true;
            changed_.notify_all();
            return;
        }
        chunk.data = std::move(buffer);
        bool end = chunk.size == 0;
        {
            std::lock_guard lock(mutex_);
            if (!end) ready_.push_back(std::move(chunk));
            done_ = end;
        }
        changed_.notify_all();
        if (end) return;
    }
}

size_t ReadAheadSource::read(void* buffer, size_t size) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !ready_.empty() || done_; });
    if (ready_.empty()) {
        if (error_) std::rethrow_exception(error_);
        return 0;
    }
    Chunk& chunk = ready_.front();
    size_t n = std::min(size, chunk.size - chunk.offset);
    std::memcpy(buffer, chunk.data.data() + chunk.offset, n);
    chunk.offset += n;
    if (chunk.offset == chunk.size) {
        free_.push_back(std::move(chunk.data));
        ready_.pop_front();
        lock.unlock();
        changed_.notify_all();
    }
    return n;
}

}  // namespace berth::image
