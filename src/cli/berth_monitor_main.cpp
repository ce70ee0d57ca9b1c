// berth-monitor --detach ROOT: a container's monitor (see engine/monitor/monitor.hpp), spawned by
// berth (engine/monitor/launch.hpp) with the sync pipe on fd 3, the network gate on fd 4 and
// its configuration on fd 5, which it reads to the end first (nothing: berth gave up before
// the start, and the monitor exits). ROOT only tells ps whose monitor it is.
// `berth-monitor --init -- COMMAND...` is the minimal init that `run --init` puts at
// /sbin/berth-init.
#include <fcntl.h>
#include <unistd.h>
#include <cstdio>
#include <cstring>
#include <exception>

#include "common/file.hpp"
#include "engine/monitor/mini_init.hpp"
#include "engine/monitor/monitor.hpp"

namespace {
constexpr int kNetworkGateFd = 4;
constexpr int kConfigFd = 5;
}  // namespace

int main(int argc, char** argv) {
    if (argc >= 3 && std::strcmp(argv[1], "--init") == 0) {
        int first = std::strcmp(argv[2], "--") == 0 ? 3 : 2;
        if (first >= argc) {
            std::fputs("berth-init: no command\n", stderr);
            return 125;
        }
        return berth::engine::run_mini_init(argv + first);
    }
    // berth spawned us in a session of our own (posix_spawn's setsid) and does not wait for
    // us; whoever reaps an orphan reaps us once we exit. (A fork here, to be nobody's child,
    // cost a millisecond and a half of every start.)
    if (argc != 3 || std::strcmp(argv[1], "--detach") != 0) {
        std::fputs("usage: berth-monitor --detach ROOT (started by berth)\n", stderr);
        return 2;
    }
    // The network gate stays out of the container (the configuration is read and closed
    // first).
    ::fcntl(kNetworkGateFd, F_SETFD, FD_CLOEXEC);
    try {
        std::string text = berth::read_fd(kConfigFd, "the monitor's configuration");
        ::close(kConfigFd);
        if (text.empty()) return 0;
        auto doc = nlohmann::json::parse(text);
        return berth::engine::run_monitor(berth::engine::MonitorConfig::from_json(doc), 3);
    } catch (const std::exception& e) {
        std::string line = std::string("error 125 berth-monitor: ") + e.what() + "\n";
        (void)!::write(3, line.data(), line.size());
        return 1;
    }
}
