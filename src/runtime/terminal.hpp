// Pseudo-terminals for process.terminal: created inside the container (its devpts), the
// master handed out over a console socket with SCM_RIGHTS (as containerd and podman
// expect), or proxied to our own stdio in the foreground.
#pragma once

#include <termios.h>

#include <optional>
#include <string>

#include "common/unique_fd.hpp"
#include "oci/runtime_spec.hpp"

namespace berth::runtime {

struct Pty {
    UniqueFd master;
    UniqueFd slave;
};

// Opens a new pty through /dev/ptmx of the current mount namespace.
Pty open_pty();
// In a new session: makes slave the controlling terminal and stdin/stdout/stderr.
void attach_terminal(int slave);
void set_window_size(int fd, uint16_t rows, uint16_t columns);
void copy_window_size(int from, int to);

UniqueFd connect_console_socket(const std::string& path);
void send_fd(int socket, int fd, const std::string& name);
UniqueFd receive_fd(int socket);

// Puts a terminal in raw mode for the lifetime of the object (foreground `run -t`).
class RawTerminal {
  public:
    explicit RawTerminal(int fd);
    ~RawTerminal();
    RawTerminal(const RawTerminal&) = delete;
    RawTerminal& operator=(const RawTerminal&) = delete;

  private:
    int fd_;
    std::optional<termios> saved_;
};

}  // namespace berth::runtime
