// v1 net_prio: one "IFNAME PRIORITY" write to net_prio.ifpriomap per interface.
#include "runtime/cgroup/controllers.hpp"
#include "runtime/cgroup/files.hpp"

namespace berth::runtime::cgroup::v1 {

void apply_net_prio(const std::string& dir, const std::vector<oci::InterfacePriority>& priorities) {
    for (const auto& p : priorities)
        cg_write(dir, "net_prio.ifpriomap", p.name + " " + std::to_string(p.priority));
}

}  // namespace berth::runtime::cgroup::v1
