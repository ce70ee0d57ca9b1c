#include <cctype>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/json_reader.hpp"
#include "common/strings.hpp"
#include "runtime/cgroup/manager.hpp"
#include "runtime/verbs/verbs.hpp"

namespace berth::runtime {

int64_t parse_size(const std::string& text, const std::string& what) {
    if (text == "-1") return -1;
    std::string digits = text;
    int64_t unit = 1;
    if (!digits.empty() && std::isalpha(static_cast<unsigned char>(digits.back()))) {
        char suffix = static_cast<char>(std::tolower(static_cast<unsigned char>(digits.back())));
        if (suffix == 'b' && digits.size() > 1 &&
            std::isalpha(static_cast<unsigned char>(digits[digits.size() - 2]))) {
            digits.pop_back();
            suffix = static_cast<char>(std::tolower(static_cast<unsigned char>(digits.back())));
        }
        switch (suffix) {
            case 'b':
                unit = 1;
                break;
            case 'k':
                unit = int64_t{1} << 10;
                break;
            case 'm':
                unit = int64_t{1} << 20;
                break;
            case 'g':
                unit = int64_t{1} << 30;
                break;
            case 't':
                unit = int64_t{1} << 40;
                break;
            default:
                throw Error(what + " " + text + ": unknown unit");
        }
        digits.pop_back();
    }
    auto value = parse_uint64(digits);
    if (!value || *value > static_cast<uint64_t>(INT64_MAX / unit))
        throw Error(what + " " + text + ": invalid size");
    return static_cast<int64_t>(*value) * unit;
}

oci::Resources resources_from_flags(const UpdateFlags& f) {
    oci::Resources r;
    auto& mem = r.memory;
    auto need_memory = [&]() -> oci::MemoryResources& {
        if (!mem) mem = oci::MemoryResources{};
        return *mem;
    };
    if (f.memory) need_memory().limit = parse_size(*f.memory, "--memory");
    if (f.memory_swap) need_memory().swap = parse_size(*f.memory_swap, "--memory-swap");
    if (f.memory_reservation)
        need_memory().reservation = parse_size(*f.memory_reservation, "--memory-reservation");
    if (f.kernel_memory) need_memory().kernel = parse_size(*f.kernel_memory, "--kernel-memory");
    if (f.kernel_memory_tcp)
        need_memory().kernel_tcp = parse_size(*f.kernel_memory_tcp, "--kernel-memory-tcp");
    auto need_cpu = [&]() -> oci::CpuResources& {
        if (!r.cpu) r.cpu = oci::CpuResources{};
        return *r.cpu;
    };
    if (f.cpu_shares) need_cpu().shares = *f.cpu_shares;
    if (f.cpu_period) need_cpu().period = *f.cpu_period;
    if (f.cpu_quota) need_cpu().quota = *f.cpu_quota;
    if (f.cpu_rt_period) need_cpu().realtime_period = *f.cpu_rt_period;
    if (f.cpu_rt_runtime) need_cpu().realtime_runtime = *f.cpu_rt_runtime;
    if (f.cpuset_cpus) need_cpu().cpus = *f.cpuset_cpus;
    if (f.cpuset_mems) need_cpu().mems = *f.cpuset_mems;
    if (f.pids_limit) r.pids_limit = *f.pids_limit;
    if (f.blkio_weight) {
        r.block_io = oci::BlockIoResources{};
        r.block_io->weight = static_cast<uint16_t>(*f.blkio_weight);
    }
    return r;
}

void update_container(const StateRoot& root, const std::string& id,
                      const oci::Resources& resources) {
    UniqueFd lock = root.lock(id);
    ContainerState state = root.load(id);
    if (current_status(root, state) == oci::Status::stopped)
        throw Error("cannot update container \"" + id + "\": it is stopped");
    if (state.cgroup.is_null()) throw Error("container \"" + id + "\" has no cgroup");
    cgroup::Manager::from_json(state.cgroup)->update(resources);
}

}  // namespace berth::runtime
