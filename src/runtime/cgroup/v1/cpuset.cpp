// v1 cpuset: cpuset.cpus and cpuset.mems; new directories inherit the parent's values.
#include "common/path.hpp"
#include "common/strings.hpp"
#include "runtime/cgroup/controllers.hpp"
#include "runtime/cgroup/files.hpp"

namespace berth::runtime::cgroup::v1 {

void prepare_cpuset(const std::string& dir) {
    const std::string parent = parent_path(dir);
    for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
        if (!trim(cg_read(dir, file)).empty()) continue;
        std::string inherited(trim(cg_read(parent, file)));
        if (!inherited.empty()) cg_write(dir, file, inherited);
    }
}

void apply_cpuset(const std::string& dir, const oci::CpuResources& cpu) {
    if (!cpu.cpus.empty()) cg_write(dir, "cpuset.cpus", cpu.cpus);
    if (!cpu.mems.empty()) cg_write(dir, "cpuset.mems", cpu.mems);
}

void stats_cpuset(const std::string& dir, Stats& stats) {
    auto& s = stats.cpuset;
    if (auto text = cg_read_if_exists(dir, "cpuset.cpus")) s.cpus = parse_cpu_list(*text);
    if (auto text = cg_read_if_exists(dir, "cpuset.mems")) s.mems = parse_cpu_list(*text);
    s.cpu_exclusive = cg_read_uint(dir, "cpuset.cpu_exclusive");
    s.mem_hardwall = cg_read_uint(dir, "cpuset.mem_hardwall");
    s.mem_exclusive = cg_read_uint(dir, "cpuset.mem_exclusive");
    s.memory_migrate = cg_read_uint(dir, "cpuset.memory_migrate");
    s.memory_spread_page = cg_read_uint(dir, "cpuset.memory_spread_page");
    s.memory_spread_slab = cg_read_uint(dir, "cpuset.memory_spread_slab");
    s.memory_pressure = cg_read_uint(dir, "cpuset.memory_pressure");
    s.sched_load_balance = cg_read_uint(dir, "cpuset.sched_load_balance");
    if (auto text = cg_read_if_exists(dir, "cpuset.sched_relax_domain_level"))
        s.sched_relax_domain_level = parse_int64(trim(*text)).value_or(0);
}

}  // namespace berth::runtime::cgroup::v1
