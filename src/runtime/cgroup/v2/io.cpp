// v2 io: weights (io.bfq.weight, else io.weight converted from the blkio range) and io.max.
#include "common/log.hpp"
#include "common/strings.hpp"
#include "runtime/cgroup/controllers.hpp"
#include "runtime/cgroup/files.hpp"
#include "runtime/cgroup/values.hpp"

namespace berth::runtime::cgroup::v2 {
namespace {

std::string device(const oci::BlockIoDevice& d) {
    return std::to_string(d.major) + ":" + std::to_string(d.minor);
}

void io_max(const std::string& dir, const char* key, const std::vector<oci::ThrottleDevice>& list) {
    for (const auto& t : list)
        cg_write(dir, "io.max", device(t) + " " + key + "=" + std::to_string(t.rate));
}

}  // namespace

void apply_io(const std::string& dir, const oci::BlockIoResources& b) {
    const bool weight = b.weight && *b.weight != 0;
    if (weight || !b.weight_device.empty()) {
        // BFQ takes the blkio range as it is; since 5.4 its file reads "default N" and takes
        // per-device lines too. Otherwise io.weight (iocost) in its own range.
        auto bfq = cg_read_if_exists(dir, "io.bfq.weight");
        const bool bfq_devices = bfq && !parse_uint64(trim(*bfq)).has_value();
        if (weight) {
            if (bfq)
                cg_write(dir, "io.bfq.weight", std::to_string(*b.weight));
            else
                cg_write(dir, "io.weight", std::to_string(io_weight_from_blkio(*b.weight)));
        }
        for (const auto& wd : b.weight_device) {
            if (!wd.weight || *wd.weight == 0) continue;
            if (bfq_devices)
                cg_write(dir, "io.bfq.weight", device(wd) + " " + std::to_string(*wd.weight));
            else
                cg_write(dir, "io.weight",
                         device(wd) + " " + std::to_string(io_weight_from_blkio(*wd.weight)));
        }
    }
    bool leaf = b.leaf_weight && *b.leaf_weight != 0;
    for (const auto& wd : b.weight_device)
        leaf = leaf || (wd.leaf_weight && *wd.leaf_weight != 0);
    if (leaf) log::warn("linux.resources.blockIO: cgroup v2 has no leaf weights; ignored");
    io_max(dir, "rbps", b.throttle_read_bps);
    io_max(dir, "wbps", b.throttle_write_bps);
    io_max(dir, "riops", b.throttle_read_iops);
    io_max(dir, "wiops", b.throttle_write_iops);
}

void stats_io(const std::string& dir, Stats& stats) {
    if (auto text = cg_read_if_exists(dir, "io.stat"))
        parse_io_stat(*text, stats.blkio.service_bytes, stats.blkio.serviced);
}

}  // namespace berth::runtime::cgroup::v2
