// Starting a container's monitor from the CLI: posix_spawn (no copy of the CLI's address
// space) of `berth-monitor --detach CONFIG` in a new session, stdio on /dev/null, a pipe on
// its fd 3 through which it reports the start (see monitor.hpp); the monitor forks once more
// itself, so that it is nobody's child and outlives the CLI.
#pragma once

#include <string>

#include "common/unique_fd.hpp"

namespace berth::engine {

// Spawns monitor_binary with config_path; returns the read end of the sync pipe. A gate
// (the read end of a pipe) becomes the monitor's fd 4 (MonitorConfig::network_gate).
UniqueFd spawn_monitor(const std::string& monitor_binary, const std::string& config_path,
                       int gate = -1);

// One line from the sync pipe, without its newline; empty at end of file.
std::string read_sync_line(int fd);

}  // namespace berth::engine
