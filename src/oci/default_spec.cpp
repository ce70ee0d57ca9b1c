#include "oci/default_spec.hpp"

namespace berth::oci {

using ojson = nlohmann::ordered_json;

static ojson mount(const char* dest, const char* type, const char* source,
                   std::initializer_list<const char*> options) {
    ojson m = {{"destination", dest}, {"type", type}, {"source", source}};
    if (options.size()) {
        ojson opts = ojson::array();
        for (const char* o : options)
            opts.push_back(o);
        m["options"] = opts;
    }
    return m;
}

ojson default_spec(const DefaultSpecOptions& options) {
    const ojson caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
    ojson spec = {
        // Nothing here needs more than runtime-spec 1.0.2, and saying so keeps the bundle
        // usable by older runtimes (crun 1.8 refuses 1.2.0).
        {"ociVersion", "1.0.2"},
        {"process",
         {{"terminal", true},
          {"user", {{"uid", 0}, {"gid", 0}}},
          {"args", {"sh"}},
          {"env",
           {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
          {"cwd", "/"},
          {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
          {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}}},
          {"noNewPrivileges", true}}},
        {"root", {{"path", "rootfs"}, {"readonly", true}}},
        {"hostname", "berth"},
    };
    ojson mounts = ojson::array();
    mounts.push_back(mount("/proc", "proc", "proc", {}));
    mounts.push_back(
        mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
    if (options.rootless) {
        mounts.push_back(mount("/dev/pts", "devpts", "devpts",
                               {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}));
    } else {
        mounts.push_back(
            mount("/dev/pts", "devpts", "devpts",
                  {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}));
    }
    mounts.push_back(mount("/dev/shm", "tmpfs", "shm",
                           {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
    mounts.push_back(mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
    if (options.rootless) {
        mounts.push_back(
            mount("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"}));
    } else {
        mounts.push_back(mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}));
    }
    mounts.push_back(mount("/sys/fs/cgroup", "cgroup", "cgroup",
                           {"nosuid", "noexec", "nodev", "relatime", "ro"}));
    spec["mounts"] = mounts;

    ojson linux = ojson::object();
    if (options.rootless) {
        linux["uidMappings"] = {{{"containerID", 0}, {"hostID", options.uid}, {"size", 1}}};
        linux["gidMappings"] = {{{"containerID", 0}, {"hostID", options.gid}, {"size", 1}}};
    } else {
        linux["resources"] = {{"devices", {{{"allow", false}, {"access", "rwm"}}}}};
    }
    ojson namespaces = ojson::array();
    namespaces.push_back({{"type", "pid"}});
    if (!options.rootless) namespaces.push_back({{"type", "network"}});
    namespaces.push_back({{"type", "ipc"}});
    namespaces.push_back({{"type", "uts"}});
    namespaces.push_back({{"type", "mount"}});
    if (options.cgroup_namespace) namespaces.push_back({{"type", "cgroup"}});
    if (options.rootless) namespaces.push_back({{"type", "user"}});
    linux["namespaces"] = namespaces;
    linux["maskedPaths"] = {"/proc/acpi",        "/proc/asound",        "/proc/kcore",
                            "/proc/keys",        "/proc/latency_stats", "/proc/timer_list",
                            "/proc/timer_stats", "/proc/sched_debug",   "/sys/firmware",
                            "/proc/scsi"};
    linux["readonlyPaths"] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                              "/proc/sysrq-trigger"};
    spec["linux"] = linux;
    return spec;
}

}  // namespace berth::oci
