// A container's monitor (berth-monitor, one per running container, like conmon): started
// detached by the CLI, it runs the OCI runtime's create and start, then stays the
// container's parent (a child subreaper) for as long as the container lives. It holds the
// container's stdio (pipes, or the pty master), writes it to the CRI log and to attach
// clients, records the start and the exit (code, time, OOM kill) in the state database,
// runs health checks, restarts the container per its policy, and finally runs the cleanup
// command (the engine's `container-cleanup`: runtime delete, network, rootfs, --rm).
//
// sync_fd receives, for the CLI that spawned it: "created\n" once the container exists and
// the attach socket listens, then "started\n" or "error CODE MESSAGE\n".
#pragma once

#include <string>

#include "engine/monitor/config.hpp"

namespace berth::engine {

// Returns the monitor's exit code.
int run_monitor(const MonitorConfig& config, int sync_fd);

// The exit code docker gives a start failure: 127 when the command is not found, 126 when
// it cannot be invoked, else 125.
int classify_start_error(const std::string& message);

// The message of the last line of an OCI runtime's text log (msg="..."), "" when none.
std::string last_runtime_error(const std::string& log_path);

}  // namespace berth::engine
