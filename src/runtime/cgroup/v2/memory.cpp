// v2 memory: memory.max, memory.swap.max (swap minus limit), memory.low (reservation).
#include <cerrno>
#include <limits>

#include "common/error.hpp"
#include "common/log.hpp"
#include "runtime/cgroup/controllers.hpp"
#include "runtime/cgroup/files.hpp"
#include "runtime/cgroup/values.hpp"

namespace berth::runtime::cgroup::v2 {

void apply_memory(const std::string& dir, const oci::MemoryResources& m, const ApplyContext& ctx) {
    const int64_t limit = m.limit.value_or(0);  // 0: not set, as runc reads it
    if (ctx.update && m.check_before_update.value_or(false) && limit > 0) {
        uint64_t current = cg_read_uint(dir, "memory.current");
        if (static_cast<uint64_t>(limit) <= current)
            throw Error("linux.resources.memory.limit: " + std::to_string(limit) +
                        " is not above the current usage " + std::to_string(current));
    }
    if (auto swap = swap_max_v2(m.swap, m.limit)) {
        std::string value = v2_limit(*swap);
        // Without swap accounting there is no memory.swap.max: "max" and "0" then hold anyway.
        if (!cg_write_if_exists(dir, "memory.swap.max", value) && value != "max" && value != "0")
            throw SystemError(ENOENT,
                              "linux.resources.memory.swap: swap accounting is off on this host "
                              "(no memory.swap.max)");
    }
    if (limit != 0) cg_write(dir, "memory.max", v2_limit(limit));
    if (m.reservation && *m.reservation != 0) cg_write(dir, "memory.low", v2_limit(*m.reservation));

    if (m.kernel && *m.kernel != 0)
        log::warn("linux.resources.memory.kernel: cgroup v2 has no kernel memory limit; ignored");
    if (m.kernel_tcp && *m.kernel_tcp != 0)
        log::warn("linux.resources.memory.kernelTCP: cgroup v2 has no kernel TCP limit; ignored");
    if (m.swappiness)
        log::warn(
            "linux.resources.memory.swappiness: cgroup v2 has no per-cgroup swappiness; ignored");
    if (m.disable_oom_killer.value_or(false))
        log::warn(
            "linux.resources.memory.disableOOMKiller: cgroup v2 cannot disable the OOM killer; "
            "ignored");
}

namespace {

MemoryEntry memory_entry(const std::string& dir, const std::string& prefix) {
    MemoryEntry e;
    e.usage = cg_read_uint(dir, prefix + ".current");
    e.limit = cg_read_uint(dir, prefix + ".max");
    e.max = cg_read_uint(dir, prefix + ".peak");
    if (auto events = cg_read_if_exists(dir, prefix + ".events"))
        e.failcnt = keyed_value(*events, "max").value_or(0);
    return e;
}

}  // namespace

void stats_memory(const std::string& dir, Stats& stats) {
    auto& s = stats.memory;
    if (auto text = cg_read_if_exists(dir, "memory.stat")) s.raw = parse_flat_keyed(*text);
    if (auto it = s.raw.find("file"); it != s.raw.end()) s.cache = it->second;
    s.usage = memory_entry(dir, "memory");
    if (cg_exists(dir, "memory.swap.current")) {
        // v1 reports memory+swap; do the same (runc does), without a peak.
        MemoryEntry swap = memory_entry(dir, "memory.swap");
        swap.usage += s.usage.usage;
        constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
        swap.limit =
            (swap.limit == kMax || s.usage.limit == kMax) ? kMax : swap.limit + s.usage.limit;
        swap.max = 0;
        s.swap = swap;
    }
}

}  // namespace berth::runtime::cgroup::v2
