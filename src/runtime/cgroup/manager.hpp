// One cgroup manager for cgroup v1, hybrid (v1 controllers plus a cgroup2 hierarchy) and
// pure v2 hosts. Each controller is its own file under v1/ and v2/; the manager decides per
// controller which hierarchy owns it on this host and delegates.
#pragma once

#include <sys/types.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/unique_fd.hpp"
#include "oci/runtime_spec.hpp"

namespace berth::runtime::cgroup {

enum class Mode { v1, hybrid, v2 };

// A mounted hierarchy on this host.
struct Hierarchy {
    std::string controllers;  // "memory", "cpu,cpuacct", "name=systemd"; empty for cgroup2
    std::string mountpoint;   // "/sys/fs/cgroup/memory"
    bool unified = false;     // cgroup2
    // The cgroup of the hierarchy that is mounted at mountpoint ("/" unless the mount shows
    // only a subtree), and the runtime process's own cgroup from /proc/self/cgroup. Both are
    // paths inside the hierarchy; only detection and path resolution use them.
    std::string root = "/";
    std::string current = "/";
};

// What the host offers; read once from /proc/self/mountinfo and /proc/self/cgroup.
struct Layout {
    Mode mode = Mode::v1;
    std::vector<Hierarchy> hierarchies;
    std::vector<std::string> v2_controllers;  // cgroup.controllers of the unified root
    // Reads /proc/self/mountinfo, /proc/self/cgroup and (when there is a cgroup2 mount) the
    // unified root's cgroup.controllers, once each.
    static Layout detect();
};

struct Options {
    std::string cgroups_path;  // linux.cgroupsPath, may be empty or relative
    std::string container_id;
    bool systemd = false;  // --systemd-cgroup: "slice:prefix:name" converted to a path
    // Unprivileged: without a cgroupsPath, hierarchies where the container's cgroup cannot be
    // created are skipped with one warning (the container stays in the runtime's cgroup
    // there), and a resource setting for a skipped controller is an error, as in runc.
    bool rootless = false;
    // No warning line for those skipped hierarchies: the caller expects them (a rootless
    // engine that runs the runtime in its user namespace warns about limits itself).
    bool quiet_skips = false;
};

// One container's cgroup in every hierarchy.
class Manager {
  public:
    // Resolves paths only; creates nothing. Throws on an invalid cgroupsPath.
    static std::unique_ptr<Manager> open(const Options& options);
    // Same, on a given layout (tests use it to drive a cgroup2 mount of a hybrid host as v2).
    static std::unique_ptr<Manager> open(const Options& options, const Layout& layout);
    // Rebuilds a manager from what to_json() saved in the container's state.
    static std::unique_ptr<Manager> from_json(const nlohmann::json& saved);
    virtual ~Manager() = default;

    [[nodiscard]] virtual nlohmann::json to_json() const = 0;

    // mkdir in every hierarchy; on failure removes what it made and throws. After
    // create_unified() it makes the rest.
    virtual void create() = 0;
    // Only the cgroup in the unified hierarchy (a no-op without one): what a child needs to be
    // born into with clone3(CLONE_INTO_CGROUP) before the others exist.
    virtual void create_unified() = 0;
    // Writes every resource setting that is present; throws naming the file and value that
    // were refused. Settings whose controller the host lacks are an error naming the setting.
    // Call it before add_process() so that realtime CPU settings are in place first.
    // An empty device rule list leaves the device rules as they are.
    virtual void apply(const oci::Resources& resources) = 0;
    // As apply(), for `update` on a running container: also writes explicit "off" values that
    // apply() skips on a fresh cgroup (disableOOMKiller=false).
    virtual void update(const oci::Resources& resources) = 0;
    // Moves pid into the container's cgroup in every hierarchy.
    virtual void add_process(pid_t pid) = 0;

    // Puts the calling, single-threaded process into the container's cgroup in every cgroup
    // v1 hierarchy, so that a child it forks is born there; leave_v1() moves it back. Writing
    // "0" to a v1 `tasks` file moves only the caller and skips the kernel's global threadgroup
    // lock that a write to cgroup.procs takes, at the price of an RCU grace period (several
    // milliseconds) on every container start. The unified hierarchy is joined at birth with
    // clone3(CLONE_INTO_CGROUP) through open_unified_dir().
    virtual void enter_v1() = 0;
    virtual void leave_v1() = 0;
    // The same move for a child that is already running (it writes "0" itself), so that the
    // runtime can create the v1 cgroups while the child sets up its mounts.
    virtual void join_v1_self() = 0;
    // The container's cgroup directory in the unified hierarchy (O_RDONLY|O_DIRECTORY), or an
    // invalid fd when there is none (pure v1, or skipped when rootless).
    [[nodiscard]] virtual UniqueFd open_unified_dir() const = 0;
    // Removes the cgroup directories (retrying while the kernel still sees dying tasks).
    // Safe to call when some or all are already gone.
    virtual void destroy() = 0;

    virtual void freeze() = 0;
    virtual void thaw() = 0;
    [[nodiscard]] virtual bool frozen() const = 0;

    // Every pid in the container's cgroup (and below it).
    [[nodiscard]] virtual std::vector<pid_t> pids() const = 0;
    // The same, over every hierarchy: a process that died or was stopped before it joined
    // them all (a create killed midway) is found in any of them. Sorted, unique.
    [[nodiscard]] virtual std::vector<pid_t> all_pids() const = 0;
    // Sends signal to every process in the cgroup (freezing first on v1 so none escape).
    virtual void kill_all(int signal) = 0;

    // runc's `events --stats` "data" object: cpu, memory, pids, blkio, hugetlb.
    [[nodiscard]] virtual nlohmann::json stats() const = 0;

    // Where the container's processes are, per hierarchy, for the cgroup mounts in the rootfs.
    struct Placement {
        Hierarchy hierarchy;
        // The container's cgroup inside that hierarchy, "/"-rooted and relative to the
        // mountpoint: the directory is hierarchy.mountpoint + path.
        std::string path;
        // Rootless, skipped hierarchy: the container has no cgroup of its own there and path
        // is the runtime's cgroup, which the container's processes stay in (as runc shows it).
        bool shared = false;
    };
    [[nodiscard]] virtual std::vector<Placement> placements() const = 0;

    [[nodiscard]] virtual Mode mode() const = 0;
};

}  // namespace berth::runtime::cgroup
