// v2 freezer: cgroup.freeze, then waiting for "frozen 1" in cgroup.events (which the kernel
// signals with POLLPRI when it changes). cgroup.kill for SIGKILL.
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/error.hpp"
#include "common/file.hpp"
#include "runtime/cgroup/controllers.hpp"
#include "runtime/cgroup/files.hpp"

namespace berth::runtime::cgroup::v2 {
namespace {

long now_ms() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

std::optional<uint64_t> frozen_value(int fd, const std::string& path) {
    char buf[512];
    ssize_t n;
    do {
        n = ::pread(fd, buf, sizeof buf - 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw_errno("read", path);
    return keyed_value(std::string_view(buf, static_cast<size_t>(n)), "frozen");
}

// Waits until cgroup.events says frozen == want; false after timeout_ms.
bool wait_frozen(const std::string& dir, uint64_t want, long timeout_ms) {
    const std::string path = dir + "/cgroup.events";
    UniqueFd fd = open_file(path, O_RDONLY);
    const long deadline = now_ms() + timeout_ms;
    for (;;) {
        if (frozen_value(fd.get(), path) == want) return true;
        long left = deadline - now_ms();
        if (left <= 0) return false;
        // The kernel wakes pollers on every change; poll at least every 10 ms in case a
        // change falls between the read and the poll.
        pollfd p{fd.get(), POLLPRI, 0};
        int r = ::poll(&p, 1, static_cast<int>(std::min(left, 10L)));
        if (r < 0 && errno != EINTR) throw_errno("poll", path);
    }
}

}  // namespace

void freeze(const std::string& dir) {
    cg_write(dir, "cgroup.freeze", "1");
    if (wait_frozen(dir, 1, 10000)) return;
    cg_write(dir, "cgroup.freeze", "0");
    throw Error("cannot freeze the cgroup " + dir +
                ": cgroup.events did not report frozen within 10s");
}

void thaw(const std::string& dir) {
    cg_write(dir, "cgroup.freeze", "0");
    if (!wait_frozen(dir, 0, 10000))
        throw Error("cannot thaw the cgroup " + dir +
                    ": cgroup.events still reports frozen after 10s");
}

bool frozen(const std::string& dir) {
    auto text = cg_read_if_exists(dir, "cgroup.events");
    return text && keyed_value(*text, "frozen") == 1;
}

bool kill(const std::string& dir) {
    return cg_write_if_exists(dir, "cgroup.kill", "1");
}

}  // namespace berth::runtime::cgroup::v2
