// Whether a container's init reached its exec. The init's ends of the sync socket and of the
// start connection are close-on-exec: end of file there means it exec'd, or died. A seccomp
// filter that denies every system call leaves the init no way to say why it died, so the
// runtime looks for itself: the init is named kInitName until the exec renames it, and an
// init that could not send its error exits with a status that carries the errno.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace berth::runtime {

// The init's command name (comm) until it execs; 15 characters at most.
inline constexpr char kInitName[] = "berth:init";

// The exit status of an init that failed and could not report why: the errno of a failed
// exec (1-126), 128 + the errno of an earlier step, 127 when there is none.
int unreported_failure_status(int error, bool at_exec);

// Called after the end of file: nullopt when pid exec'd (or is gone without a trace, reaped
// by someone else); otherwise the one-line error, "container process is already dead: ...".
// program names what the init was to exec, for the message.
std::optional<std::string> death_before_exec(pid_t pid, const std::string& program);

}  // namespace berth::runtime
