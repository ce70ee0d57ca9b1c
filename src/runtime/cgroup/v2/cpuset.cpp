// v2 cpuset: cpuset.cpus and cpuset.mems.
#include "runtime/cgroup/controllers.hpp"
#include "runtime/cgroup/files.hpp"

namespace berth::runtime::cgroup::v2 {

void apply_cpuset(const std::string& dir, const oci::CpuResources& cpu) {
    if (!cpu.cpus.empty()) cg_write(dir, "cpuset.cpus", cpu.cpus);
    if (!cpu.mems.empty()) cg_write(dir, "cpuset.mems", cpu.mems);
}

void stats_cpuset(const std::string& dir, Stats& stats) {
    if (auto text = cg_read_if_exists(dir, "cpuset.cpus.effective"))
        stats.cpuset.cpus = parse_cpu_list(*text);
    if (auto text = cg_read_if_exists(dir, "cpuset.mems.effective"))
        stats.cpuset.mems = parse_cpu_list(*text);
}

}  // namespace berth::runtime::cgroup::v2
