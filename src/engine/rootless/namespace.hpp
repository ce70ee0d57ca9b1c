// An unprivileged user's berth lives in one user namespace with a mount namespace of its
// own, both held by a small "pause" process, as rootless podman does: uid 0 inside is the
// user, 1..N the user's /etc/subuid ranges (gids likewise from /etc/subgid), written by
// newuidmap/newgidmap. Every berth invocation joins them first (setns), so that what one
// invocation makes (layers unpacked with sub-id owners, overlay rootfs mounts, network
// namespace mounts) is there for the next, and every process it starts (monitor, runtime,
// slirp4netns) is born inside.
#pragma once

#include <sys/types.h>

#include <string>

namespace berth::engine {

// True for an unprivileged user: outside the namespace (euid != 0) or inside it (a user
// namespace other than the initial one).
bool rootless();

// The user's uid on the host (inside the namespace: what uid 0 maps to).
uid_t rootless_host_uid();

// $XDG_DATA_HOME/berth, else ~/.local/share/berth (as podman's storage); its parent
// directories are made.
std::string rootless_default_root();

// $XDG_RUNTIME_DIR/berth, else /tmp/berth-run-<uid>; made 0700 when missing, refused when
// it is not a directory owned by the user.
std::string rootless_run_directory();

// For an unprivileged caller: joins the pause process's user and mount namespaces,
// starting it first when there is none, and keeps the working directory. Must run before
// any thread exists (the kernel refuses setns of a user namespace to a threaded process).
// Nothing for root and for a process already inside.
void enter_rootless_namespace();

}  // namespace berth::engine
