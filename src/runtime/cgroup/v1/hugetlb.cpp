// v1 hugetlb: hugetlb.<size>.limit_in_bytes (and .rsvd where the kernel has it).
#include <cerrno>

#include "common/error.hpp"
#include "runtime/cgroup/controllers.hpp"
#include "runtime/cgroup/files.hpp"

namespace berth::runtime::cgroup::v1 {

void apply_hugetlb(const std::string& dir, const std::vector<oci::HugepageLimit>& limits) {
    bool rsvd = true;
    for (const auto& h : limits) {
        const std::string prefix = "hugetlb." + h.page_size;
        const std::string value = std::to_string(h.limit);
        if (!cg_write_if_exists(dir, prefix + ".limit_in_bytes", value))
            throw SystemError(ENOENT, "linux.resources.hugepageLimits: page size " + h.page_size +
                                          " is not supported by this kernel");
        if (rsvd) rsvd = cg_write_if_exists(dir, prefix + ".rsvd.limit_in_bytes", value);
    }
}

void stats_hugetlb(const std::string& dir, const std::vector<std::string>& sizes, Stats& stats) {
    for (const auto& size : sizes) {
        const std::string prefix = "hugetlb." + size;
        if (!cg_exists(dir, prefix + ".usage_in_bytes")) continue;
        HugetlbEntry e;
        e.usage = cg_read_uint(dir, prefix + ".usage_in_bytes");
        e.max = cg_read_uint(dir, prefix + ".max_usage_in_bytes");
        e.failcnt = cg_read_uint(dir, prefix + ".failcnt");
        stats.hugetlb[size] = e;
    }
}

}  // namespace berth::runtime::cgroup::v1
