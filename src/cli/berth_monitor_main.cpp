// berth-monitor CONFIG: a container's monitor (see engine/monitor.hpp), spawned by berth
// with the sync pipe on fd 3 (and, for a CNI network, the network gate on fd 4).
// `berth-monitor --init -- COMMAND...` is the minimal init that `run --init` puts at
// /sbin/berth-init.
#include <fcntl.h>
#include <unistd.h>
#include <cstdio>
#include <cstring>
#include <exception>

#include "common/file.hpp"
#include "engine/mini_init.hpp"
#include "engine/monitor.hpp"

int main(int argc, char** argv) {
    if (argc >= 3 && std::strcmp(argv[1], "--init") == 0) {
        int first = std::strcmp(argv[2], "--") == 0 ? 3 : 2;
        if (first >= argc) {
            std::fputs("berth-init: no command\n", stderr);
            return 125;
        }
        return berth::engine::run_mini_init(argv + first);
    }
    // --detach: berth spawned us in a session of our own (posix_spawn's setsid); berth does
    // not wait for us, and whoever reaps an orphan reaps us once it exits. (A fork here, to
    // be nobody's child, cost a millisecond and a half of every start.)
    bool detach = argc == 3 && std::strcmp(argv[1], "--detach") == 0;
    if (argc != 2 && !detach) {
        std::fputs("usage: berth-monitor [--detach] CONFIG (started by berth)\n", stderr);
        return 2;
    }
    // The network gate (fd 4, when berth passes one) stays out of the runtime and the
    // container.
    ::fcntl(4, F_SETFD, FD_CLOEXEC);
    try {
        auto doc = nlohmann::json::parse(berth::read_file(argv[argc - 1]));
        return berth::engine::run_monitor(berth::engine::MonitorConfig::from_json(doc), 3);
    } catch (const std::exception& e) {
        std::string line = std::string("error 125 berth-monitor: ") + e.what() + "\n";
        (void)!::write(3, line.data(), line.size());
        return 1;
    }
}
