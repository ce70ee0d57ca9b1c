// One JSON line per request on stderr: time, remote, method, path, route, status, bytes in
// and out, duration. Written with one write(2) so lines from several threads never mix.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace berth::registry {

struct AccessRecord {
    std::string remote;
    std::string method;
    std::string target;
    std::string route;
    int status = 0;
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;
    std::chrono::microseconds duration{0};
    std::string user_agent;
};

void write_access_log(const AccessRecord& record);

}  // namespace berth::registry
