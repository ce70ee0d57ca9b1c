// v2 pids: pids.max.
#include <limits>

#include "runtime/cgroup/controllers.hpp"
#include "runtime/cgroup/files.hpp"
#include "runtime/cgroup/values.hpp"

namespace berth::runtime::cgroup::v2 {

void apply_pids(const std::string& dir, int64_t limit) {
    cg_write(dir, "pids.max", pids_max_value(limit));
}

void stats_pids(const std::string& dir, Stats& stats) {
    if (!cg_exists(dir, "pids.current")) {
        // The controller is not enabled here: count the processes instead.
        stats.pids.current = read_pids_recursive(dir).size();
        return;
    }
    stats.pids.current = cg_read_uint(dir, "pids.current");
    uint64_t limit = cg_read_uint(dir, "pids.max");
    stats.pids.limit =
        limit == std::numeric_limits<uint64_t>::max() ? 0 : limit;  // "max": 0, as runc
}

}  // namespace berth::runtime::cgroup::v2
