// Counters for /metrics in the Prometheus text format: requests by route, method and
// status, bytes in and out, upload sessions, pull-through cache hits and misses.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace berth::registry {

class Metrics {
  public:
    void count_request(const std::string& route, const std::string& method, int status,
                       uint64_t bytes_in, uint64_t bytes_out);
    std::atomic<uint64_t> uploads_started{0};
    std::atomic<uint64_t> uploads_completed{0};
    std::atomic<uint64_t> cache_hits{0};
    std::atomic<uint64_t> cache_misses{0};
    std::atomic<int64_t> connections{0};
    // active_uploads: sessions on disk right now.
    [[nodiscard]] std::string render(size_t active_uploads) const;

  private:
    mutable std::mutex mutex_;
    std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
    uint64_t bytes_in_ = 0;
    uint64_t bytes_out_ = 0;
};

}  // namespace berth::registry
