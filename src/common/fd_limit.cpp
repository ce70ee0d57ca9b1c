#include "common/fd_limit.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <fstream>

namespace berth {
namespace {

// Listening sockets, epoll and eventfds of each thread, log files, the database, a few
// spare: what the process holds besides its connections.
constexpr uint64_t kReservedFds = 64;

uint64_t kernel_nr_open() {
    std::ifstream in("/proc/sys/fs/nr_open");
    uint64_t value = 0;
    if (in >> value && value > 0) return value;
    return 1024 * 1024;  // the kernel's default
}

}  // namespace

uint64_t raise_fd_limit() noexcept {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
    uint64_t wanted = limit.rlim_max;
    if (limit.rlim_max == RLIM_INFINITY) wanted = kernel_nr_open();
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted) {
        rlimit raised = limit;
        raised.rlim_cur = wanted;
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    }
    return limit.rlim_cur == RLIM_INFINITY ? kernel_nr_open() : limit.rlim_cur;
}

size_t connection_cap(uint64_t fd_limit, size_t fds_per_connection) {
    const uint64_t usable = fd_limit > 2 * kReservedFds ? fd_limit - kReservedFds : fd_limit / 2;
    return static_cast<size_t>(
        std::max<uint64_t>(1, usable / std::max<size_t>(1, fds_per_connection)));
}

}  // namespace berth
