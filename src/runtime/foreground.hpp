// Staying with a container process in the foreground (`run`, `exec` without --detach):
// forwarding every signal to it, proxying its terminal, reaping whatever gets reparented
// to us, and turning its end into an exit code.
#pragma once

#include <signal.h>
#include <sys/types.h>

namespace berth::runtime {

// Call before creating the process: blocks all signals (they queue until
// wait_in_foreground reads them) and returns the mask to restore in the child.
sigset_t block_all_signals();

// Exit code as a shell reports it: the status, or 128 + signal number.
int exit_code_from_status(int status);

// Blocks until `target` exits. pty_master >= 0 proxies it to stdin/stdout.
int wait_in_foreground(pid_t target, int pty_master);

// A subreaper inherits a container's orphans: collects the ones still dying (up to a
// second), so none is left a zombie when we exit.
void reap_children();

}  // namespace berth::runtime
