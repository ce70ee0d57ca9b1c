// v1 memory: limit, memsw (swap), soft limit (reservation), kmem where the kernel still has
// it, swappiness and the OOM killer switch.
#include <cerrno>

#include "common/error.hpp"
#include "common/log.hpp"
#include "runtime/cgroup/controllers.hpp"
#include "runtime/cgroup/files.hpp"

namespace berth::runtime::cgroup::v1 {
namespace {

constexpr const char* kLimit = "memory.limit_in_bytes";
constexpr const char* kSwapLimit = "memory.memsw.limit_in_bytes";

void set_limit(const std::string& dir, int64_t value) {
    try {
        cg_write(dir, kLimit, std::to_string(value));
    } catch (const SystemError& e) {
        if (e.code() != EBUSY) throw;
        // The kernel cannot reclaim down to the new limit.
        throw SystemError(
            EBUSY, "linux.resources.memory.limit: cannot set " + std::to_string(value) +
                       " (current usage " +
                       std::to_string(cg_read_uint(dir, "memory.usage_in_bytes")) + ", peak " +
                       std::to_string(cg_read_uint(dir, "memory.max_usage_in_bytes")) + ")");
    }
}

void optional_file(const std::string& dir, const char* file, int64_t value, const char* setting) {
    if (!cg_write_if_exists(dir, file, std::to_string(value)))
        log::warn(std::string("linux.resources.memory.") + setting + ": this kernel has no " +
                  file + "; ignored");
}

}  // namespace

void apply_memory(const std::string& dir, const oci::MemoryResources& m, const ApplyContext& ctx) {
    int64_t limit = m.limit.value_or(0);  // 0: not set, as runc reads it
    int64_t swap = m.swap.value_or(0);
    if (swap != 0 || limit == -1) {
        bool have_memsw = cg_exists(dir, kSwapLimit);
        // Unlimited memory with no swap value: unlimited swap too, where it is accounted.
        if (limit == -1 && swap == 0 && have_memsw) swap = -1;
        if (swap != 0 && !have_memsw) {
            if (m.swap)
                log::warn(
                    "linux.resources.memory.swap: swap accounting is off on this host; ignored");
            swap = 0;
        }
    }
    // memsw must never be below the memory limit: when raising, write memsw first.
    bool done = false;
    if (limit != 0 && swap != 0) {
        uint64_t current = cg_read_uint(dir, kLimit);
        if (swap == -1 || current < static_cast<uint64_t>(swap)) {
            cg_write(dir, kSwapLimit, std::to_string(swap));
            set_limit(dir, limit);
            done = true;
        }
    }
    if (!done) {
        if (limit != 0) set_limit(dir, limit);
        if (swap != 0) cg_write(dir, kSwapLimit, std::to_string(swap));
    }

    if (m.reservation && *m.reservation != 0)
        cg_write(dir, "memory.soft_limit_in_bytes", std::to_string(*m.reservation));
    if (m.kernel && *m.kernel != 0)
        optional_file(dir, "memory.kmem.limit_in_bytes", *m.kernel, "kernel");
    if (m.kernel_tcp && *m.kernel_tcp != 0)
        optional_file(dir, "memory.kmem.tcp.limit_in_bytes", *m.kernel_tcp, "kernelTCP");
    if (m.swappiness) cg_write(dir, "memory.swappiness", std::to_string(*m.swappiness));
    if (m.disable_oom_killer) {
        if (*m.disable_oom_killer)
            cg_write(dir, "memory.oom_control", "1");
        else if (ctx.update)
            cg_write(dir, "memory.oom_control", "0");
    }
}

namespace {

MemoryEntry memory_entry(const std::string& dir, const std::string& prefix) {
    MemoryEntry e;
    e.usage = cg_read_uint(dir, prefix + ".usage_in_bytes");
    e.max = cg_read_uint(dir, prefix + ".max_usage_in_bytes");
    e.limit = cg_read_uint(dir, prefix + ".limit_in_bytes");
    e.failcnt = cg_read_uint(dir, prefix + ".failcnt");
    return e;
}

}  // namespace

void stats_memory(const std::string& dir, Stats& stats) {
    auto& s = stats.memory;
    if (auto text = cg_read_if_exists(dir, "memory.stat")) s.raw = parse_flat_keyed(*text);
    if (auto it = s.raw.find("cache"); it != s.raw.end()) s.cache = it->second;
    s.usage = memory_entry(dir, "memory");
    s.swap = memory_entry(dir, "memory.memsw");
    s.kernel = memory_entry(dir, "memory.kmem");
    s.kernel_tcp = memory_entry(dir, "memory.kmem.tcp");
}

}  // namespace berth::runtime::cgroup::v1
