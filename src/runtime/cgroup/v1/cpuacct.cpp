// v1 cpuacct: statistics only (cpuacct.usage, cpuacct.usage_percpu, cpuacct.usage_all).
#include <unistd.h>

#include "runtime/cgroup/controllers.hpp"
#include "runtime/cgroup/files.hpp"

namespace berth::runtime::cgroup::v1 {

void stats_cpuacct(const std::string& dir, Stats& stats) {
    auto& usage = stats.cpu_usage;
    usage.total = cg_read_uint(dir, "cpuacct.usage");
    if (auto text = cg_read_if_exists(dir, "cpuacct.usage_percpu"))
        usage.percpu = parse_uint_list(*text);
    if (auto all = cg_read_if_exists(dir, "cpuacct.usage_all")) {
        parse_cpuacct_usage_all(*all, usage.percpu_user, usage.percpu_kernel);
        for (uint64_t v : usage.percpu_user)
            usage.user += v;
        for (uint64_t v : usage.percpu_kernel)
            usage.kernel += v;
        return;
    }
    // Older kernels: user and system time in clock ticks.
    if (auto text = cg_read_if_exists(dir, "cpuacct.stat")) {
        auto values = parse_flat_keyed(*text);
        long ticks = ::sysconf(_SC_CLK_TCK);
        uint64_t ns_per_tick =
            ticks > 0 ? 1000000000ULL / static_cast<uint64_t>(ticks) : 10000000ULL;
        usage.user = values["user"] * ns_per_tick;
        usage.kernel = values["system"] * ns_per_tick;
    }
}

}  // namespace berth::runtime::cgroup::v1
