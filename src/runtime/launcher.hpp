// The runtime side of `create` and `run`: validates the bundle, builds the cgroup and the
// init process, answers the init's requests (id maps, hooks), records the state, and rolls
// everything back when any step fails.
#pragma once

#include <string>

#include "oci/runtime_spec.hpp"
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
};

// `create`: returns once the container is "created" (its init waits for `start`).
void create_container(const StateRoot& root, const CreateOptions& options);

// `run`: create and start. Detached: returns 0 once the process runs. Foreground: waits,
// removes the container and returns the process's exit code.
int run_container(const StateRoot& root, const CreateOptions& options, bool detach);

// Removes what a container left: remaining processes, poststop hooks, cgroup, state
// directory. The config is read from the state directory unless given.
void destroy_container(const StateRoot& root, const ContainerState& state,
                       const oci::Spec* spec = nullptr);

}  // namespace berth::runtime
