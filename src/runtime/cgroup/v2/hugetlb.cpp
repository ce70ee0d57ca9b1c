// v2 hugetlb: hugetlb.<size>.max (and .rsvd.max where the kernel has it).
#include <cerrno>

#include "common/error.hpp"
#include "runtime/cgroup/controllers.hpp"
#include "runtime/cgroup/files.hpp"

namespace berth::runtime::cgroup::v2 {

void apply_hugetlb(const std::string& dir, const std::vector<oci::HugepageLimit>& limits) {
    bool rsvd = true;
    for (const auto& h : limits) {
        const std::string prefix = "hugetlb." + h.page_size;
        const std::string value = std::to_string(h.limit);
        if (!cg_write_if_exists(dir, prefix + ".max", value))
            throw SystemError(ENOENT, concat({"linux.resources.hugepageLimits: page size ",
                                              h.page_size, " is not supported by this kernel (no ",
                                              prefix, ".max in ", dir, ")"}));
        if (rsvd) rsvd = cg_write_if_exists(dir, prefix + ".rsvd.max", value);
    }
}

void stats_hugetlb(const std::string& dir, const std::vector<std::string>& sizes, Stats& stats) {
    for (const auto& size : sizes) {
        const std::string prefix = "hugetlb." + size;
        auto current = cg_read_if_exists(dir, prefix + ".current");
        if (!current) continue;
        HugetlbEntry e;
        e.usage = parse_value(*current).value_or(0);
        if (auto events = cg_read_if_exists(dir, prefix + ".events"))
            e.failcnt = keyed_value(*events, "max").value_or(0);
        stats.hugetlb[size] = e;
    }
}

}  // namespace berth::runtime::cgroup::v2
