// v1 cpu: cpu.shares, cpu.cfs_{period,quota,burst}_us, cpu.rt_{period,runtime}_us, cpu.idle.
#include <cerrno>

#include "common/error.hpp"
#include "common/log.hpp"
#include "runtime/cgroup/controllers.hpp"
#include "runtime/cgroup/files.hpp"

namespace berth::runtime::cgroup::v1 {
namespace {

// The realtime pair depends on each other's current value: when the kernel refuses the new
// period (EINVAL) and a runtime comes too, write the runtime first and the period after it.
void apply_realtime(const std::string& dir, const oci::CpuResources& cpu) {
    std::string period;
    if (cpu.realtime_period && *cpu.realtime_period != 0) {
        period = std::to_string(*cpu.realtime_period);
        try {
            cg_write(dir, "cpu.rt_period_us", period);
            period.clear();
        } catch (const SystemError& e) {
            bool runtime_follows = cpu.realtime_runtime && *cpu.realtime_runtime != 0;
            if (e.code() != EINVAL || !runtime_follows) throw;
        }
    }
    if (cpu.realtime_runtime && *cpu.realtime_runtime != 0) {
        cg_write(dir, "cpu.rt_runtime_us", std::to_string(*cpu.realtime_runtime));
        if (!period.empty()) cg_write(dir, "cpu.rt_period_us", period);
    }
}

}  // namespace

void apply_cpu(const std::string& dir, const oci::CpuResources& cpu, const ApplyContext& /*ctx*/) {
    apply_realtime(dir, cpu);

    if (cpu.shares && *cpu.shares != 0) {
        cg_write(dir, "cpu.shares", std::to_string(*cpu.shares));
        // The kernel clamps out-of-range shares silently; say so instead.
        uint64_t actual = cg_read_uint(dir, "cpu.shares");
        if (actual != 0 && actual != *cpu.shares)
            throw Error("linux.resources.cpu.shares: " + std::to_string(*cpu.shares) +
                        " is out of the kernel's range (it set " + std::to_string(actual) + ")");
    }

    const bool quota_follows = cpu.quota && *cpu.quota != 0;
    // A smaller period or a larger burst can be refused against the current quota; then
    // retry them after the quota (as runc does).
    std::string period, burst;
    if (cpu.period && *cpu.period != 0) {
        period = std::to_string(*cpu.period);
        try {
            cg_write(dir, "cpu.cfs_period_us", period);
            period.clear();
        } catch (const SystemError& e) {
            if (e.code() != EINVAL || !quota_follows) throw;
        }
    }
    if (cpu.burst) {
        burst = std::to_string(*cpu.burst);
        try {
            if (!cg_write_if_exists(dir, "cpu.cfs_burst_us", burst))
                log::warn(
                    "linux.resources.cpu.burst: this kernel has no cpu.cfs_burst_us; ignored");
            burst.clear();
        } catch (const SystemError& e) {
            if (e.code() != EINVAL || !quota_follows) throw;
        }
    }
    if (quota_follows) {
        cg_write(dir, "cpu.cfs_quota_us", std::to_string(*cpu.quota));
        if (!period.empty()) cg_write(dir, "cpu.cfs_period_us", period);
        if (!burst.empty()) cg_write(dir, "cpu.cfs_burst_us", burst);
    }
    if (cpu.idle) cg_write(dir, "cpu.idle", std::to_string(*cpu.idle));
}

void stats_cpu(const std::string& dir, Stats& stats) {
    auto text = cg_read_if_exists(dir, "cpu.stat");
    if (!text) return;
    auto values = parse_flat_keyed(*text);
    stats.throttling.periods = values["nr_periods"];
    stats.throttling.throttled_periods = values["nr_throttled"];
    stats.throttling.throttled_time = values["throttled_time"];
}

}  // namespace berth::runtime::cgroup::v1
