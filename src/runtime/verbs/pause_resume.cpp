#include "common/error.hpp"
#include "runtime/cgroup/manager.hpp"
#include "runtime/verbs/verbs.hpp"

namespace berth::runtime {
namespace {

void set_paused(const StateRoot& root, const std::string& id, bool paused) {
    UniqueFd lock = root.lock(id);
    ContainerState state = root.load(id);
    oci::Status status = current_status(root, state);
    if (paused && status != oci::Status::running)
        throw Error("cannot pause container \"" + id + "\": it is " + oci::status_name(status));
    if (!paused && status != oci::Status::paused)
        throw Error("cannot resume container \"" + id + "\": it is " + oci::status_name(status));
    if (state.cgroup.is_null()) throw Error("container \"" + id + "\" has no cgroup to freeze");
    auto cg = cgroup::Manager::from_json(state.cgroup);
    if (paused)
        cg->freeze();
    else
        cg->thaw();
    state.paused = paused;
    root.save(state);
}

}  // namespace

void pause_container(const StateRoot& root, const std::string& id) {
    set_paused(root, id, true);
}
void resume_container(const StateRoot& root, const std::string& id) {
    set_paused(root, id, false);
}

}  // namespace berth::runtime
