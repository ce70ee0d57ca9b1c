// CVE-2019-5736: a process in a container must never get a writable handle on the host's
// berth-runtime binary through /proc/PID/exe of a runtime process that has entered it.
//
// Two layers. Every runtime process that enters a container makes itself non-dumpable
// first, which puts /proc/PID/exe out of reach of anything without CAP_SYS_PTRACE in the
// host's user namespace. Containers that could hold exactly that (CAP_SYS_PTRACE in the
// bounding set, no user namespace) get the second layer: the runtime re-executes itself
// from a sealed in-memory copy before it creates anything, so /proc/PID/exe is that copy.
#pragma once

#include <cstdint>

namespace berth::runtime {

// Records main()'s argv for the re-exec.
void remember_command_line(int argc, char** argv);

// Whether a process with this bounding set, without a user namespace, needs the copy.
bool needs_sealed_executable(bool has_capability_config, uint64_t bounding, bool user_namespace);

// Re-executes the current command from a sealed memfd copy of /proc/self/exe, unless this
// process already runs from one. Returns only when it already does.
void ensure_sealed_executable();

// True when /proc/self/exe is a sealed copy (for tests and debugging).
bool running_from_sealed_copy();

}  // namespace berth::runtime
