#include "distribution/server/metrics.hpp"

namespace berth::registry {

void Metrics::count_request(const std::string& route, const std::string& method, int status,
                            uint64_t bytes_in, uint64_t bytes_out) {
    std::lock_guard lock(mutex_);
    ++requests_[{route, method, status}];
    bytes_in_ += bytes_in;
    bytes_out_ += bytes_out;
}

std::string Metrics::render(size_t active_uploads) const {
    std::string out;
    out += "# HELP berth_registry_requests_total HTTP requests by route, method and status.\n";
    out += "# TYPE berth_registry_requests_total counter\n";
    std::lock_guard lock(mutex_);
    for (const auto& [key, count] : requests_) {
        const auto& [route, method, status] = key;
        out += "berth_registry_requests_total{route=\"" + route + "\",method=\"" + method +
               "\",status=\"" + std::to_string(status) + "\"} " + std::to_string(count) + "\n";
    }
    auto counter = [&](const char* name, const char* help, uint64_t value,
                       const char* type = "counter") {
        out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
               name + " " + std::to_string(value) + "\n";
    };
    counter("berth_registry_received_bytes_total", "Request body bytes received.", bytes_in_);
    counter("berth_registry_sent_bytes_total", "Response body bytes sent.", bytes_out_);
    counter("berth_registry_uploads_started_total", "Upload sessions started.",
            uploads_started.load());
    counter("berth_registry_uploads_completed_total", "Blob uploads completed.",
            uploads_completed.load());
    counter("berth_registry_upload_sessions", "Upload sessions in progress.", active_uploads,
            "gauge");
    counter("berth_registry_cache_hits_total", "Pull-through cache requests served locally.",
            cache_hits.load());
    counter("berth_registry_cache_misses_total", "Pull-through cache requests fetched upstream.",
            cache_misses.load());
    counter("berth_registry_connections", "Open client connections.",
            static_cast<uint64_t>(connections.load()), "gauge");
    return out;
}

}  // namespace berth::registry
