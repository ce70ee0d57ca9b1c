#include <signal.h>

#include <cerrno>

#include "common/error.hpp"
#include "runtime/cgroup/manager.hpp"
#include "runtime/verbs/verbs.hpp"

namespace berth::runtime {

void kill_container(const StateRoot& root, const std::string& id, int signal, bool all) {
    UniqueFd lock = root.lock(id, false);
    ContainerState state = root.load(id);
    bool alive = init_alive(state);
    std::unique_ptr<cgroup::Manager> cg;
    if (!state.cgroup.is_null()) cg = cgroup::Manager::from_json(state.cgroup);
    // Rootless without delegated cgroups: the container has no cgroup to list its processes.
    if (cg && cg->placements().empty()) cg.reset();
    if (!cg && all) {
        if (!alive) return;
        for (pid_t pid : container_pids(root, id))
            if (::kill(pid, signal) < 0 && errno != ESRCH)
                throw_errno("kill " + std::to_string(pid));
        return;
    }
    // Without its own pid namespace, killing the init leaves its children: SIGKILL, and
    // --all, go to every process in the container's cgroup.
    if (cg && (all || (signal == SIGKILL && !state.own_pid_namespace))) {
        if (!alive && cg->pids().empty()) {
            if (all) return;
            throw Error("container \"" + id + "\" is not running");
        }
        cg->kill_all(signal);
        return;
    }
    if (!alive) throw Error("container \"" + id + "\" is not running");
    if (::kill(state.pid, signal) < 0) throw_errno("kill container \"" + id + "\" init");
    // A frozen v1 cgroup holds SIGKILL until thawed.
    if (signal == SIGKILL && state.paused && cg) cg->thaw();
}

}  // namespace berth::runtime
