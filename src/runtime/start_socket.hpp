// How `start` releases a created container: its init waits on a unix socket in the
// container's state directory. `start` connects, sends the init's host pid, and reads until
// end of file: the connection closes when the init execs the user's process (close-on-exec),
// or carries the init's error message first. So `start` returns after the process runs, and
// the poststart hooks follow it, as the specification orders.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/unique_fd.hpp"

namespace berth::runtime {

inline constexpr const char* kStartSocketName = "exec.sock";

// Binds and listens in the directory open at state_dir_fd (through /proc/self/fd, so the
// socket path stays short whatever the state root and id are).
UniqueFd listen_for_start(int state_dir_fd);

struct StartRequest {
    UniqueFd connection;  // keep open (close-on-exec) until the exec
    pid_t host_pid = 0;
};
// Init side: blocks until `start` connects.
StartRequest wait_for_start_request(int listen_fd);

// `start` side: throws when the init is gone or reports an error before its exec.
void request_start(int state_dir_fd, pid_t init_pid, const std::string& id);

}  // namespace berth::runtime
