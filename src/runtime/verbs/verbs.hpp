// The lifecycle verbs of berth-runtime, one file each. The CLI parses arguments and prints;
// the work is here. (create/run: launcher.hpp, exec: exec_process.hpp.)
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "oci/runtime_spec.hpp"
#include "runtime/container_state.hpp"

namespace berth::runtime {

// runc's `state` document: ociVersion, id, pid, status, bundle, rootfs, created, owner,
// annotations.
nlohmann::ordered_json state_document(const StateRoot& root, const std::string& id);
// Every container's state document (list); unreadable ones are reported and skipped.
std::vector<nlohmann::ordered_json> list_containers(const StateRoot& root);

void start_container(const StateRoot& root, const std::string& id);
void kill_container(const StateRoot& root, const std::string& id, int signal, bool all);
void delete_container(const StateRoot& root, const std::string& id, bool force);
void pause_container(const StateRoot& root, const std::string& id);
void resume_container(const StateRoot& root, const std::string& id);

std::vector<pid_t> container_pids(const StateRoot& root, const std::string& id);
// `ps` output restricted to the container's processes (runs ps(1) with ps_args).
std::string container_ps_table(const StateRoot& root, const std::string& id,
                               const std::vector<std::string>& ps_args);

// `update` flags; unset ones are left alone.
struct UpdateFlags {
    std::optional<std::string> memory, memory_swap, memory_reservation, kernel_memory,
        kernel_memory_tcp;
    std::optional<uint64_t> cpu_shares, cpu_period, cpu_rt_period, blkio_weight;
    std::optional<int64_t> cpu_quota, cpu_rt_runtime, pids_limit;
    std::optional<std::string> cpuset_cpus, cpuset_mems;
};
oci::Resources resources_from_flags(const UpdateFlags& flags);
void update_container(const StateRoot& root, const std::string& id,
                      const oci::Resources& resources);

// `events --stats`: {"type":"stats","id":..,"data":{cpu, memory, pids, blkio, hugetlb}}.
nlohmann::json stats_event(const StateRoot& root, const std::string& id);

// The OCI features document for this runtime on this host.
nlohmann::ordered_json features_document();

// `spec`: writes a default config.json into bundle (refuses to overwrite one).
void write_default_spec(const std::string& bundle, bool rootless);

// "512m", "1g", "1024" -> bytes ("-1" passes through as -1).
int64_t parse_size(const std::string& text, const std::string& what);

}  // namespace berth::runtime
