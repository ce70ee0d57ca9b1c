// Starting a container's monitor from the CLI: posix_spawn (no copy of the CLI's address
// space) of `berth-monitor --detach ROOT` in a new session, stdio on /dev/null, the sync
// pipe on fd 3 (through which it reports the start, see monitor.hpp), the network gate on
// fd 4 and its configuration on fd 5. berth does not wait for it: when berth exits, it is
// reparented like any orphan.
#pragma once

#include <string>

#include "common/unique_fd.hpp"
#include "engine/monitor/config.hpp"

namespace berth::engine {

// A spawned monitor, waiting for its configuration. `run` spawns it before it creates the
// container, so that the monitor's exec and start-up overlap the CLI's work; a monitor that
// is never configured (the run failed first) reads end of file and exits without a word.
class MonitorProcess {
  public:
    // Spawns monitor_binary; root names the berth root on its command line (for ps).
    MonitorProcess(const std::string& monitor_binary, const std::string& root);

    // Sends the configuration; returns the read end of the sync pipe. With a network gate
    // (config.network_gate), gate receives its write end; otherwise it is closed.
    UniqueFd configure(const MonitorConfig& config, UniqueFd& gate);

  private:
    UniqueFd sync_, gate_, config_;
};

// One line from the sync pipe, without its newline; empty at end of file.
std::string read_sync_line(int fd);

}  // namespace berth::engine
