// --init: a minimal pid 1 for the container (what tini does), built into the static
// berth-monitor and bind-mounted into the container as /sbin/berth-init. It runs the
// command as its child, forwards the signals it gets to it, reaps every zombie and exits
// with the command's status.
#pragma once

namespace berth::engine {

int run_mini_init(char** argv);  // argv: the command, null-terminated

}  // namespace berth::engine
