#include "engine/monitor/monitor_cgroup.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <string_view>

#include "common/error.hpp"
#include "common/file.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/cgroup/manager.hpp"

namespace berth::engine {
namespace {

constexpr std::string_view kContainerLeaf = "/container";

std::unique_ptr<runtime::cgroup::Manager> open_cgroup(const std::string& path) {
    runtime::cgroup::Options options;
    options.cgroups_path = path;
    options.container_id = "monitor";
    return runtime::cgroup::Manager::open(options);
}

// The limits that bound the container and its monitor together: CPU time and memory.
oci::Resources shared_limits(const nlohmann::json& spec) {
    oci::Resources all = oci::parse_resources(
        spec.value("linux", nlohmann::json::object()).value("resources", nlohmann::json::object()));
    oci::Resources shared;
    if (all.cpu && (all.cpu->quota || all.cpu->period)) {
        shared.cpu.emplace();
        shared.cpu->quota = all.cpu->quota;
        shared.cpu->period = all.cpu->period;
    }
    if (all.memory && all.memory->limit) {
        shared.memory.emplace();
        shared.memory->limit = all.memory->limit;
    }
    return shared;
}

void move_to_root(const std::string& mountpoint) {
    const std::string pid = std::to_string(::getpid());
    const std::string procs = mountpoint + "/cgroup.procs";
    int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    (void)!::write(fd, pid.data(), pid.size());
    ::close(fd);
}

}  // namespace

MonitorCgroup MonitorCgroup::join(const nlohmann::json& spec, std::string& error) {
    MonitorCgroup joined;
    const std::string path =
        spec.value("linux", nlohmann::json::object()).value("cgroupsPath", std::string());
    if (path.size() <= kContainerLeaf.size() || !path.ends_with(kContainerLeaf)) return joined;
    const std::string parent = path.substr(0, path.size() - kContainerLeaf.size());
    try {
        auto shared = open_cgroup(parent);
        shared->create();
        shared->apply(shared_limits(spec));
        auto mine = open_cgroup(parent + "/monitor");
        mine->create();
        mine->add_process(::getpid());
        joined.parent_ = parent;
        // Never the OOM killer's choice: the container's processes are (they are what grows).
        // Lowering oom_score_adj needs CAP_SYS_RESOURCE; without it the monitor's memory (a
        // few fixed buffers) stays in the root memory cgroup, out of the OOM killer's reach.
        try {
            write_file("/proc/self/oom_score_adj", "-1000");
        } catch (const SystemError&) {
            for (const auto& place : mine->placements()) {
                if (place.hierarchy.unified ||
                    place.hierarchy.controllers.find("memory") == std::string::npos)
                    continue;
                move_to_root(place.hierarchy.mountpoint);
            }
            // cgroup v2: memory cannot be left apart from CPU; the monitor is not charged.
            if (mine->mode() == runtime::cgroup::Mode::v2) joined.leave();
        }
    } catch (const std::exception& e) {
        error = std::string("the monitor's cgroup ") + parent + "/monitor: " + e.what();
        if (!joined.parent_.empty()) joined.leave();
        joined.parent_.clear();
    }
    return joined;
}

void MonitorCgroup::leave() noexcept {
    if (parent_.empty()) return;
    try {
        auto mine = open_cgroup(parent_ + "/monitor");
        for (const auto& place : mine->placements())
            move_to_root(place.hierarchy.mountpoint);
    } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): remove() says nothing
    }
    remove(parent_);
    parent_.clear();
}

void MonitorCgroup::remove(const std::string& parent) noexcept {
    try {
        open_cgroup(parent + "/monitor")->destroy();
        // Only when the container's cgroup is gone (a restart keeps it; rm removes it first).
        bool container_left = false;
        for (const auto& place : open_cgroup(parent + "/container")->placements())
            if (::access((place.hierarchy.mountpoint + place.path).c_str(), F_OK) == 0)
                container_left = true;
        if (!container_left) open_cgroup(parent)->destroy();
    } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): rm -f tries again
    }
}

}  // namespace berth::engine
