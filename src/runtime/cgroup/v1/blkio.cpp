// v1 blkio: weights (CFQ's blkio.weight or BFQ's blkio.bfq.weight) and throttles.
#include "common/error.hpp"
#include "common/log.hpp"
#include "runtime/cgroup/controllers.hpp"
#include "runtime/cgroup/files.hpp"

namespace berth::runtime::cgroup::v1 {
namespace {

std::string device(const oci::BlockIoDevice& d) {
    return std::to_string(d.major) + ":" + std::to_string(d.minor);
}

void throttle(const std::string& dir, const char* file,
              const std::vector<oci::ThrottleDevice>& list) {
    for (const auto& t : list)
        cg_write(dir, file, device(t) + " " + std::to_string(t.rate));
}

void leaf_weight(const std::string& dir, const char* file, const std::string& value) {
    // Leaf weights were CFQ's; kernels without CFQ have no such file.
    if (!cg_write_if_exists(dir, file, value))
        log::warn(std::string("linux.resources.blockIO: this kernel has no ") + file +
                  "; leaf weight ignored");
}

}  // namespace

void apply_blkio(const std::string& dir, const oci::BlockIoResources& b) {
    bool weights = (b.weight && *b.weight != 0) || !b.weight_device.empty();
    std::string weight_file = "blkio.weight", weight_device_file = "blkio.weight_device";
    if (weights && !cg_exists(dir, weight_file)) {
        weight_file = "blkio.bfq.weight";
        weight_device_file = "blkio.bfq.weight_device";
        if (!cg_exists(dir, weight_file))
            throw Error("weights need CFQ's blkio.weight or BFQ's blkio.bfq.weight, and " + dir +
                        " has neither (a kernel without BFQ)");
    }
    if (b.weight && *b.weight != 0) cg_write(dir, weight_file, std::to_string(*b.weight));
    if (b.leaf_weight && *b.leaf_weight != 0)
        leaf_weight(dir, "blkio.leaf_weight", std::to_string(*b.leaf_weight));
    for (const auto& wd : b.weight_device) {
        if (wd.weight && *wd.weight != 0)
            cg_write(dir, weight_device_file, device(wd) + " " + std::to_string(*wd.weight));
        if (wd.leaf_weight && *wd.leaf_weight != 0)
            leaf_weight(dir, "blkio.leaf_weight_device",
                        device(wd) + " " + std::to_string(*wd.leaf_weight));
    }
    throttle(dir, "blkio.throttle.read_bps_device", b.throttle_read_bps);
    throttle(dir, "blkio.throttle.write_bps_device", b.throttle_write_bps);
    throttle(dir, "blkio.throttle.read_iops_device", b.throttle_read_iops);
    throttle(dir, "blkio.throttle.write_iops_device", b.throttle_write_iops);
}

void stats_blkio(const std::string& dir, Stats& stats) {
    // As runc: the first group whose first file has entries wins (BFQ, CFQ, then throttling).
    struct Source {
        const char* file;
        std::vector<BlkioEntry>* target;
    };
    auto& b = stats.blkio;
    const std::vector<std::vector<Source>> groups = {
        {{"blkio.bfq.sectors_recursive", &b.sectors},
         {"blkio.bfq.io_service_time_recursive", &b.service_time},
         {"blkio.bfq.io_wait_time_recursive", &b.wait_time},
         {"blkio.bfq.io_merged_recursive", &b.merged},
         {"blkio.bfq.io_queued_recursive", &b.queued},
         {"blkio.bfq.time_recursive", &b.time},
         {"blkio.bfq.io_serviced_recursive", &b.serviced},
         {"blkio.bfq.io_service_bytes_recursive", &b.service_bytes}},
        {{"blkio.bfq.io_serviced_recursive", &b.serviced},
         {"blkio.bfq.io_service_bytes_recursive", &b.service_bytes}},
        {{"blkio.sectors_recursive", &b.sectors},
         {"blkio.io_service_time_recursive", &b.service_time},
         {"blkio.io_wait_time_recursive", &b.wait_time},
         {"blkio.io_merged_recursive", &b.merged},
         {"blkio.io_queued_recursive", &b.queued},
         {"blkio.time_recursive", &b.time},
         {"blkio.io_serviced_recursive", &b.serviced},
         {"blkio.io_service_bytes_recursive", &b.service_bytes}},
        {{"blkio.throttle.io_serviced_recursive", &b.serviced},
         {"blkio.throttle.io_service_bytes_recursive", &b.service_bytes}},
        {{"blkio.throttle.io_serviced", &b.serviced},
         {"blkio.throttle.io_service_bytes", &b.service_bytes}},
    };
    for (const auto& group : groups) {
        auto first = cg_read_if_exists(dir, group.front().file);
        if (!first) continue;
        auto entries = parse_blkio_stat(*first);
        if (entries.empty()) continue;
        *group.front().target = std::move(entries);
        for (size_t i = 1; i < group.size(); ++i)
            if (auto text = cg_read_if_exists(dir, group[i].file))
                *group[i].target = parse_blkio_stat(*text);
        return;
    }
}

}  // namespace berth::runtime::cgroup::v1
