// The container's init dies with the runtime while it is being set up: a set-up that takes
// seconds (thousands of mounts) must not outlive a runtime killed meanwhile, which nobody
// could then find (no state recorded yet). The init sets a parent-death signal before any
// long step and clears it once the runtime has what it needs to find the container again.
#pragma once

namespace berth::runtime {

// In the child: SIGKILL when the parent (thread) exits. The parent may have died before the
// signal was armed: peer_fd is a socket whose other end only the parent holds, and a hung-up
// peer ends this process at once (getppid() cannot tell: in a new pid namespace it is 0).
// Call again after a credential change (setresuid), which clears the signal.
void die_with_parent(int peer_fd);

// The container survives its runtime from here on (`create` exits).
void outlive_parent();

}  // namespace berth::runtime
