// Handing a seccomp notification listener to linux.seccomp.listenerPath (runtime-spec
// config-linux.md): the runtime connects to that Unix socket and sends the listener fd
// (SCM_RIGHTS) with the container process state as JSON.
//
// The listener is born in the container's process (seccomp(2) returns it there), and every
// system call after that, the sending one included, waits for the listener to answer. So
// the process says beforehand which fd number the listener will get (the lowest free one,
// which seccomp(2) hands out), installs the filter, and the runtime takes the fd from it with
// pidfd_getfd(2) once it is there.
#pragma once

#include <sys/types.h>

#include "oci/runtime_spec.hpp"
#include "oci/runtime_state.hpp"

namespace berth::runtime::seccomp {

// The fd number the next seccomp(2) with a new listener returns in this process.
int next_descriptor();

// Takes fd_number from pid once the listener is there (a few ms at most; bounded) and sends
// it to config.listener_path with state. Throws naming the path on failure.
void forward_listener(pid_t pid, int fd_number, const oci::Seccomp& config,
                      const oci::State& state);

}  // namespace berth::runtime::seccomp
