#include "common/error.hpp"
#include "runtime/cgroup/manager.hpp"
#include "runtime/verbs/verbs.hpp"

namespace berth::runtime {

nlohmann::json stats_event(const StateRoot& root, const std::string& id) {
    ContainerState state = root.load(id);
    if (current_status(root, state) == oci::Status::stopped)
        throw Error("container \"" + id + "\" is not running");
    if (state.cgroup.is_null()) throw Error("container \"" + id + "\" has no cgroup");
    return {
        {"type", "stats"}, {"id", id}, {"data", cgroup::Manager::from_json(state.cgroup)->stats()}};
}

}  // namespace berth::runtime
