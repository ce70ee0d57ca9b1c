// Where a container's monitor is charged. The engine puts a container's cgroups at
// <parent>/container (/berth/<id>/container); its monitor makes <parent> with the container's
// CPU and memory limits and joins <parent>/monitor. A container and its logging then stay
// within --cpus and -m together (as CRI-O's conmon_cgroup = "pod" charges conmon to the pod),
// while pause still freezes the container's cgroup alone and `delete --force` kills only the
// container's processes. The monitor is exempt from the OOM killer (oom_score_adj -1000): an
// OOM in <parent> kills the container's processes, and the monitor records it. Where it may
// not lower its oom_score_adj (no CAP_SYS_RESOURCE), its memory stays in the root memory
// cgroup (on cgroup v2, where memory and CPU cannot be parted, it is not charged at all).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace berth::engine {

class MonitorCgroup {
  public:
    MonitorCgroup() = default;
    // From the container's runtime spec: nothing when its linux.cgroupsPath does not end in
    // "/container" (rootless, no cgroups). Failures are returned as a message, not thrown: a
    // container runs even when its monitor cannot be charged to it.
    static MonitorCgroup join(const nlohmann::json& spec, std::string& error);
    // The monitor's process back to the root cgroups, then <parent>/monitor and <parent>
    // removed (<parent> only once the container's cgroup is gone). Never throws.
    void leave() noexcept;
    // What a monitor killed with -9 left: <parent>/monitor and <parent>, when empty.
    static void remove(const std::string& parent) noexcept;
    [[nodiscard]] const std::string& parent() const { return parent_; }

  private:
    std::string parent_;  // "/berth/<id>"; empty when the monitor did not join
};

}  // namespace berth::engine
