// Everything the container's init process needs, prepared by the runtime before clone(2)
// (so that errors surface before anything exists) and read by the child after it.
#pragma once

#include <signal.h>

#include <array>
#include <functional>
#include <string>
#include <vector>

#include "oci/runtime_spec.hpp"
#include "runtime/capabilities.hpp"
#include "runtime/cgroup/manager.hpp"
#include "runtime/namespaces.hpp"
#include "runtime/sync_socket.hpp"

namespace berth::runtime {

struct InitPlan {
    const oci::Spec* spec = nullptr;
    const oci::Process* process = nullptr;
    std::string id;
    std::string bundle;
    std::string rootfs;  // absolute

    const SyncSocket* sync = nullptr;      // the child's end
    int start_listen_fd = -1;              // `create`: wait here until `start` connects
    int console_socket_fd = -1;            // process.terminal: send the pty master here
    int preserve_fds = 0;                  // fds 3 .. 3+N-1 stay open in the container
    std::array<int, 3> stdio{-1, -1, -1};  // moved to 0, 1, 2 first (-1: as inherited)
    bool no_pivot = false;
    bool no_new_keyring = false;
    bool rootless = false;  // the runtime runs unprivileged (it writes id maps as our owner)

    // Namespaces: the fast path creates the pid namespace (with a new user namespace: all of
    // them) with clone(2) and the init unshares the rest; otherwise an intermediate child
    // joins/unshares and forks the init (joined pid namespace, time namespace, joined user
    // namespace).
    const std::vector<NamespaceToJoin>* joins = nullptr;
    int clone_flags = 0;    // CLONE_NEW* passed to clone
    int unshare_flags = 0;  // CLONE_NEW* unshared by the intermediate or the init
    bool intermediate = false;
    bool user_namespace = false;  // the container runs in a user namespace (new or joined)
    bool new_cgroup_namespace = false;
    bool new_mount_namespace = false;
    bool joined_mount_namespace = false;
    bool new_network_namespace = false;
    bool loopback_up = false;  // annotation io.berth.network.loopback=up with a new one

    cgroup::Mode cgroup_mode = cgroup::Mode::v1;
    std::vector<cgroup::Manager::Placement> cgroup_placements;

    bool has_capabilities = false;
    CapabilitySets capabilities;
    std::vector<std::string> env;        // process.env plus LISTEN_FDS and friends
    std::function<void()> load_seccomp;  // empty without linux.seccomp
    // Instead of load_seccomp for a filter with SCMP_ACT_NOTIFY: installed before `ready`
    // (its listener travels to the runtime then); returns the listener's fd.
    std::function<int()> load_seccomp_listener;
    bool has_create_runtime_hooks = false;  // prestart or createRuntime: ask the parent
    sigset_t original_signal_mask{};
    bool foreground = false;  // run mode: the parent sends `start` over the socket
    // The runtime creates the v1 cgroups while we mount our rootfs; setup_done comes later,
    // and then we move ourselves into them (cgroup::Manager::join_v1_self).
    bool child_joins_cgroups = false;
    cgroup::Manager* cgroups = nullptr;  // our copy of the runtime's manager
};

// The container's init. Never returns: execs the user's process or exits with 127
// (reporting the error over the sync socket first).
[[noreturn]] void container_init(const InitPlan& plan);

}  // namespace berth::runtime
