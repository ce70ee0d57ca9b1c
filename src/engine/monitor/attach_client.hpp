// The client side of the attach socket, as `run` and `start -a` use it: the container's
// output to our stdout/stderr, our stdin to it (with -i), the terminal in raw mode and its
// size passed on (with -t). Returns the exit code the monitor reports, or -1 when the
// connection ended without one.
#pragma once

#include <functional>

namespace berth::engine {

// forward_signal receives the signals the CLI gets (^C, SIGTERM, ...) when there is no
// terminal, to send them to the container.
int attach_session(int socket_fd, bool tty, bool forward_stdin,
                   const std::function<void(int)>& forward_signal = {});

}  // namespace berth::engine
