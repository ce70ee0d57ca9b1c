#include "runtime/cgroup/values.hpp"

#include <algorithm>
#include <cmath>

#include "common/error.hpp"
#include "common/strings.hpp"
#include "runtime/cgroup/files.hpp"

namespace berth::runtime::cgroup {

uint64_t cpu_weight_from_shares(uint64_t shares) {
    if (shares == 0) return 0;
    if (shares <= 2) return 1;
    if (shares >= 262144) return 10000;
    // log10(weight) is a quadratic in log2(shares) through (2, 1), (1024, 100), (262144, 10000).
    double l = std::log2(static_cast<double>(shares));
    double exponent = (l * l + 125 * l) / 612.0 - 7.0 / 34.0;
    return static_cast<uint64_t>(std::ceil(std::pow(10.0, exponent)));
}

std::string cpu_max_value(std::optional<int64_t> quota, std::optional<uint64_t> period) {
    std::string value = (quota && *quota > 0) ? std::to_string(*quota) : "max";
    if (period && *period != 0) value += " " + std::to_string(*period);
    return value;
}

std::optional<int64_t> swap_max_v2(std::optional<int64_t> swap, std::optional<int64_t> limit) {
    int64_t s = swap.value_or(0);
    int64_t m = limit.value_or(0);
    if (m == -1 && s == 0) return -1;  // unlimited memory and swap not given: unlimited too
    if (s == -1) return -1;
    if (s == 0) return std::nullopt;  // unset
    if (m == -1) return s;            // unlimited memory: swap as given
    if (m == 0)
        throw Error("linux.resources.memory.swap: a swap limit needs a memory limit on cgroup v2");
    if (s < m)
        throw Error("linux.resources.memory.swap: memory+swap " + std::to_string(s) +
                    " is lower than the memory limit " + std::to_string(m));
    return s - m;
}

std::string v2_limit(int64_t value) {
    return value < 0 ? std::string("max") : std::to_string(value);
}

uint64_t io_weight_from_blkio(uint16_t weight) {
    if (weight == 0) return 0;
    if (weight < 10) return 1;
    return 1 + (static_cast<uint64_t>(weight) - 10) * 9999 / 990;
}

std::string pids_max_value(int64_t limit) {
    if (limit < 0) return "max";
    if (limit == 0) return "1";
    return std::to_string(limit);
}

std::string page_size_from_sysfs(const std::string& dir_name) {
    constexpr std::string_view prefix = "hugepages-";
    constexpr std::string_view suffix = "kB";
    if (dir_name.size() <= prefix.size() + suffix.size() || dir_name.rfind(prefix, 0) != 0 ||
        dir_name.compare(dir_name.size() - suffix.size(), suffix.size(), suffix) != 0)
        return {};
    auto kb = parse_uint64(std::string_view(dir_name).substr(
        prefix.size(), dir_name.size() - prefix.size() - suffix.size()));
    if (!kb || *kb == 0) return {};
    if (*kb % (1024 * 1024) == 0) return std::to_string(*kb / (1024 * 1024)) + "GB";
    if (*kb % 1024 == 0) return std::to_string(*kb / 1024) + "MB";
    return std::to_string(*kb) + "KB";
}

std::vector<std::string> hugepage_sizes() {
    std::vector<std::string> sizes;
    for (const auto& name : list_directory("/sys/kernel/mm/hugepages", true)) {
        std::string size = page_size_from_sysfs(name);
        if (!size.empty()) sizes.push_back(std::move(size));
    }
    std::sort(sizes.begin(), sizes.end());
    return sizes;
}

}  // namespace berth::runtime::cgroup
