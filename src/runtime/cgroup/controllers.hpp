// The per-controller writers and readers, one file each under v1/ and v2/. Each takes the
// directory of the container's cgroup in the hierarchy that owns the controller and writes
// only the settings that are present. Settings that the kernel refuses throw (see cg_write).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "oci/runtime_spec.hpp"
#include "runtime/cgroup/stats.hpp"

namespace berth::runtime::cgroup {

// What a writer needs to know beyond the settings.
struct ApplyContext {
    bool update = false;  // a running container's `update`, not a fresh cgroup
};

namespace v1 {
void apply_cpu(const std::string& dir, const oci::CpuResources& cpu, const ApplyContext& ctx);
void stats_cpu(const std::string& dir, Stats& stats);

void stats_cpuacct(const std::string& dir, Stats& stats);

// New v1 cpuset directories start empty and take no task: copy the parent's cpus and mems.
void prepare_cpuset(const std::string& dir);
void apply_cpuset(const std::string& dir, const oci::CpuResources& cpu);
void stats_cpuset(const std::string& dir, Stats& stats);

void apply_memory(const std::string& dir, const oci::MemoryResources& memory,
                  const ApplyContext& ctx);
void stats_memory(const std::string& dir, Stats& stats);

void apply_pids(const std::string& dir, int64_t limit);
void stats_pids(const std::string& dir, Stats& stats);

void apply_blkio(const std::string& dir, const oci::BlockIoResources& blkio);
void stats_blkio(const std::string& dir, Stats& stats);

void apply_hugetlb(const std::string& dir, const std::vector<oci::HugepageLimit>& limits);
void stats_hugetlb(const std::string& dir, const std::vector<std::string>& sizes, Stats& stats);

void apply_net_cls(const std::string& dir, uint32_t class_id);
void apply_net_prio(const std::string& dir, const std::vector<oci::InterfacePriority>& priorities);

// The writes that give the rule list to a v1 devices cgroup, in order: (allow, "c 1:3 rwm").
// Type "a" with a major or minor, or with partial access, becomes separate c and b entries,
// because the kernel reads a leading "a" as "every device, every access".
std::vector<std::pair<bool, std::string>> device_writes(const std::vector<oci::DeviceRule>& rules);
void apply_devices(const std::string& dir, const std::vector<oci::DeviceRule>& rules);

void freeze(const std::string& dir);
void thaw(const std::string& dir);
bool frozen(const std::string& dir);
}  // namespace v1

namespace v2 {
void apply_cpu(const std::string& dir, const oci::CpuResources& cpu, const ApplyContext& ctx);
void stats_cpu(const std::string& dir, Stats& stats);

void apply_cpuset(const std::string& dir, const oci::CpuResources& cpu);
void stats_cpuset(const std::string& dir, Stats& stats);

void apply_memory(const std::string& dir, const oci::MemoryResources& memory,
                  const ApplyContext& ctx);
void stats_memory(const std::string& dir, Stats& stats);

void apply_pids(const std::string& dir, int64_t limit);
void stats_pids(const std::string& dir, Stats& stats);

void apply_io(const std::string& dir, const oci::BlockIoResources& blkio);
void stats_io(const std::string& dir, Stats& stats);

void apply_hugetlb(const std::string& dir, const std::vector<oci::HugepageLimit>& limits);
void stats_hugetlb(const std::string& dir, const std::vector<std::string>& sizes, Stats& stats);

// Loads the rules as a BPF_PROG_TYPE_CGROUP_DEVICE program, attaches it to the cgroup with
// BPF_F_ALLOW_MULTI and then detaches the programs that were attached before.
void apply_devices(const std::string& dir, const std::vector<oci::DeviceRule>& rules);

void freeze(const std::string& dir);
void thaw(const std::string& dir);
bool frozen(const std::string& dir);
// Writes cgroup.kill; false when the kernel has no cgroup.kill.
bool kill(const std::string& dir);

// linux.resources.unified: each key is a file name in the cgroup directory.
void apply_unified(const std::string& dir, const std::map<std::string, std::string>& values);
}  // namespace v2

}  // namespace berth::runtime::cgroup
