// Conversions from the OCI resource values (designed for cgroup v1) to what the cgroup files
// take, as runc does them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace berth::runtime::cgroup {

// cpu.shares [2, 262144] -> cpu.weight [1, 10000], with 1024 -> 100 (runc's quadratic fit on
// a log scale); 0 means unset and gives 0.
uint64_t cpu_weight_from_shares(uint64_t shares);

// cpu.max: "QUOTA PERIOD", "max PERIOD" for quota -1 (or absent with a period), or just
// "QUOTA" / "max" when no period is given (the kernel keeps the period it has).
std::string cpu_max_value(std::optional<int64_t> quota, std::optional<uint64_t> period);

// memory.swap.max from the OCI memory+swap total and memory limit, as runc converts them:
// nullopt when nothing is to be written; -1 is "max". Throws berth::Error when the pair
// cannot be converted (a swap limit without a memory limit).
std::optional<int64_t> swap_max_v2(std::optional<int64_t> swap, std::optional<int64_t> limit);

// A v2 limit file value: "max" for -1, the number otherwise.
std::string v2_limit(int64_t value);

// blkio weight [10, 1000] -> io.weight [1, 10000] linearly; 0 stays 0.
uint64_t io_weight_from_blkio(uint16_t weight);

// pids.max: "max" for -1; 0 is a real limit, written as "1" as runc does (a cgroup with its
// first task in it cannot fork either way); other values as they are.
std::string pids_max_value(int64_t limit);

// hugetlb page size as the files name it ("2MB") from the kernel's directory name under
// /sys/kernel/mm/hugepages ("hugepages-2048kB"); empty when it is not one.
std::string page_size_from_sysfs(const std::string& dir_name);

// The hugepage sizes this kernel offers ("2MB", "1GB"), from /sys/kernel/mm/hugepages.
std::vector<std::string> hugepage_sizes();

}  // namespace berth::runtime::cgroup
