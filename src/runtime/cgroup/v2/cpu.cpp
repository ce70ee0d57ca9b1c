// v2 cpu: cpu.weight (from shares), cpu.max, cpu.max.burst, cpu.idle.
#include <cerrno>

#include "common/error.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "runtime/cgroup/controllers.hpp"
#include "runtime/cgroup/files.hpp"
#include "runtime/cgroup/values.hpp"

namespace berth::runtime::cgroup::v2 {

void apply_cpu(const std::string& dir, const oci::CpuResources& cpu, const ApplyContext& /*ctx*/) {
    if ((cpu.realtime_runtime && *cpu.realtime_runtime != 0) ||
        (cpu.realtime_period && *cpu.realtime_period != 0))
        log::warn(
            "linux.resources.cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no realtime group "
            "scheduling; ignored");
    if (cpu.idle) cg_write(dir, "cpu.idle", std::to_string(*cpu.idle));
    if (cpu.shares && *cpu.shares != 0)
        cg_write(dir, "cpu.weight", std::to_string(cpu_weight_from_shares(*cpu.shares)));

    const bool have_quota = cpu.quota && *cpu.quota != 0;
    const bool have_period = cpu.period && *cpu.period != 0;
    // A larger burst can be refused against the current quota: then retry after cpu.max.
    std::string burst;
    if (cpu.burst) {
        burst = std::to_string(*cpu.burst);
        try {
            if (!cg_write_if_exists(dir, "cpu.max.burst", burst)) {
                // A kernel before 5.14 has no burst; without cpu.max the controller is off.
                if (!cg_exists(dir, "cpu.max")) cg_write(dir, "cpu.max.burst", burst);
                log::warn("linux.resources.cpu.burst: this kernel has no cpu.max.burst; ignored");
            }
            burst.clear();
        } catch (const SystemError& e) {
            if (e.code() != EINVAL || !have_quota) throw;
        }
    }
    if (have_quota || have_period) {
        std::string value;
        if (have_quota) {
            value = cpu_max_value(cpu.quota, cpu.period);
        } else {
            // Only a period: keep the quota the cgroup has ("max" on a new one).
            auto current = split(std::string(trim(cg_read(dir, "cpu.max"))), ' ');
            value = (current.empty() || current[0].empty() ? std::string("max") : current[0]) +
                    " " + std::to_string(*cpu.period);
        }
        cg_write(dir, "cpu.max", value);
        if (!burst.empty()) cg_write(dir, "cpu.max.burst", burst);
    }
}

void stats_cpu(const std::string& dir, Stats& stats) {
    auto text = cg_read_if_exists(dir, "cpu.stat");
    if (!text) return;
    auto values = parse_flat_keyed(*text);
    stats.cpu_usage.total = values["usage_usec"] * 1000;
    stats.cpu_usage.user = values["user_usec"] * 1000;
    stats.cpu_usage.kernel = values["system_usec"] * 1000;
    stats.throttling.periods = values["nr_periods"];
    stats.throttling.throttled_periods = values["nr_throttled"];
    stats.throttling.throttled_time = values["throttled_usec"] * 1000;
}

}  // namespace berth::runtime::cgroup::v2
