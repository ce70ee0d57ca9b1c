// The runtime side of `create` and `run`: validates the bundle, builds the cgroup and the
// init process, answers the init's requests (id maps, hooks), records the state, and rolls
// everything back when any step fails.
#pragma once

#include <signal.h>

#include <array>
#include <functional>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/cgroup/manager.hpp"
#include "runtime/container_state.hpp"

namespace berth::runtime {

struct CreateOptions {
    std::string id;
    std::string bundle;  // absolute
    std::string console_socket;
    std::string pid_file;
    int preserve_fds = 0;
    bool no_pivot = false;
    bool no_new_keyring = false;
    bool systemd_cgroup = false;
    // A caller that runs the runtime in its own process (the engine's monitor) gives the
    // container's stdio and the signal mask its process starts with, which the runtime
    // program inherits from whoever started it; and such a caller cannot be re-executed
    // from a sealed copy (exe_protection.hpp).
    bool in_caller_process = false;
    std::array<int, 3> stdio{-1, -1, -1};  // -1: inherited
    std::optional<sigset_t> process_signal_mask;
    // Called while the init sets itself up (it works on its own until it reports back).
    std::function<void()> while_init_prepares;
    // run --detach: called once the container is created, before its process starts.
    std::function<void()> before_start;
};

// Thrown by create and run with in_caller_process, before anything exists, when the
// container needs the runtime re-executed from a sealed copy: run the runtime program.
class NeedsRuntimeProgram : public Error {
  public:
    using Error::Error;
};

// `create`: returns once the container is "created" (its init waits for `start`).
void create_container(const StateRoot& root, const CreateOptions& options);

// `run`: create and start. Detached: returns 0 once the process runs. Foreground: waits,
// removes the container and returns the process's exit code.
int run_container(const StateRoot& root, const CreateOptions& options, bool detach);

// Removes what a container left: remaining processes, poststop hooks, cgroup, state
// directory. The config is read from the state directory unless given. With sweep, every
// process found in the container's cgroups (in any hierarchy) is killed and waited for
// first, whatever the state says; without it (the init reaped by the caller, with its own
// pid namespace) the cgroups are known to be empty. Throws naming what is left (processes,
// a cgroup) and then keeps the state directory, so that a later delete finds it again.
void destroy_container(const StateRoot& root, const ContainerState& state,
                       const oci::Spec* spec = nullptr, bool sweep = false);

// Kills every process in the cgroups and waits until none is left (up to a few seconds);
// throws naming the processes and the cgroup otherwise. Processes are looked for in every
// hierarchy, or (every_hierarchy false: the init joined them all, so did its children) in
// one.
void empty_container_cgroups(cgroup::Manager& cgroups, const std::string& id,
                             bool every_hierarchy = true);

}  // namespace berth::runtime
