// The OCI runtime specification's config.json (v1.2) as plain C++ types.
// parse_spec() is strict about types and values and names the offending field; unknown
// fields are ignored, as the specification requires.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace berth::oci {

struct IdMapping {
    uint32_t container_id = 0;
    uint32_t host_id = 0;
    uint32_t size = 0;
};

struct User {
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::optional<uint32_t> umask;
    std::vector<uint32_t> additional_gids;
};

struct Rlimit {
    int resource = 0;  // RLIMIT_* value
    std::string type;  // "RLIMIT_NOFILE"
    uint64_t hard = 0;
    uint64_t soft = 0;
};

struct Capabilities {
    std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
};

struct IoPriority {
    int io_class = 0;  // IOPRIO_CLASS_*
    int priority = 0;
};

struct Scheduler {
    int policy = 0;  // SCHED_*
    int32_t nice = 0;
    int32_t priority = 0;
    uint64_t flags = 0;  // SCHED_FLAG_*
    uint64_t runtime = 0, deadline = 0, period = 0;
};

struct ConsoleSize {
    uint16_t height = 0;
    uint16_t width = 0;
};

struct Process {
    bool terminal = false;
    std::optional<ConsoleSize> console_size;
    User user;
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string cwd = "/";
    std::optional<Capabilities> capabilities;
    std::vector<Rlimit> rlimits;
    bool no_new_privileges = false;
    std::string apparmor_profile;
    std::optional<int> oom_score_adj;
    std::optional<Scheduler> scheduler;
    std::string selinux_label;
    std::optional<IoPriority> io_priority;
};

struct Root {
    std::string path;
    bool readonly = false;
};

struct Mount {
    std::string destination;
    std::string type;
    std::string source;
    std::vector<std::string> options;
    std::vector<IdMapping> uid_mappings, gid_mappings;
};

struct Hook {
    std::string path;
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::optional<int> timeout;  // seconds
};

struct Hooks {
    std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
        poststop;
};

enum class NamespaceType { pid, network, mount, ipc, uts, user, cgroup, time };
const char* namespace_type_name(NamespaceType type);
int namespace_clone_flag(NamespaceType type);
// The file name under /proc/PID/ns/ ("net" for network, "mnt" for mount).
const char* namespace_proc_name(NamespaceType type);

struct Namespace {
    NamespaceType type = NamespaceType::pid;
    std::string path;  // empty: create a new one
};

struct Device {
    std::string path;
    char type = 'c';  // c, b, u (unbuffered char), p (fifo)
    int64_t major = 0;
    int64_t minor = 0;
    std::optional<uint32_t> file_mode;
    std::optional<uint32_t> uid, gid;
};

struct DeviceRule {
    bool allow = false;
    char type = 'a';                      // a, c, b
    std::optional<int64_t> major, minor;  // nullopt: any ("*")
    std::string access = "rwm";
};

struct MemoryResources {
    std::optional<int64_t> limit, reservation, swap, kernel, kernel_tcp;
    std::optional<uint64_t> swappiness;
    std::optional<bool> disable_oom_killer, use_hierarchy, check_before_update;
};

struct CpuResources {
    std::optional<uint64_t> shares;
    std::optional<int64_t> quota;
    std::optional<uint64_t> burst;
    std::optional<uint64_t> period;
    std::optional<int64_t> realtime_runtime;
    std::optional<uint64_t> realtime_period;
    std::string cpus;
    std::string mems;
    std::optional<int64_t> idle;
};

struct BlockIoDevice {
    int64_t major = 0;
    int64_t minor = 0;
};
struct WeightDevice : BlockIoDevice {
    std::optional<uint16_t> weight, leaf_weight;
};
struct ThrottleDevice : BlockIoDevice {
    uint64_t rate = 0;
};

struct BlockIoResources {
    std::optional<uint16_t> weight, leaf_weight;
    std::vector<WeightDevice> weight_device;
    std::vector<ThrottleDevice> throttle_read_bps, throttle_write_bps, throttle_read_iops,
        throttle_write_iops;
};

struct HugepageLimit {
    std::string page_size;  // "2MB", "1GB"
    uint64_t limit = 0;
};

struct InterfacePriority {
    std::string name;
    uint32_t priority = 0;
};

struct NetworkResources {
    std::optional<uint32_t> class_id;
    std::vector<InterfacePriority> priorities;
};

struct Resources {
    std::vector<DeviceRule> devices;
    std::optional<MemoryResources> memory;
    std::optional<CpuResources> cpu;
    std::optional<int64_t> pids_limit;
    std::optional<BlockIoResources> block_io;
    std::vector<HugepageLimit> hugepage_limits;
    std::optional<NetworkResources> network;
    std::map<std::string, std::string> unified;
};

enum class SeccompArgOp {
    not_equal,
    less_than,
    less_equal,
    equal_to,
    greater_equal,
    greater_than,
    masked_equal
};

struct SeccompArg {
    unsigned index = 0;
    uint64_t value = 0;
    uint64_t value_two = 0;
    SeccompArgOp op = SeccompArgOp::equal_to;
};

struct SeccompRule {
    std::vector<std::string> names;
    std::string action;  // SCMP_ACT_*
    std::optional<uint32_t> errno_ret;
    std::vector<SeccompArg> args;
};

struct Seccomp {
    std::string default_action;
    std::optional<uint32_t> default_errno_ret;
    std::vector<std::string> architectures;  // SCMP_ARCH_*
    std::vector<std::string> flags;          // SECCOMP_FILTER_FLAG_*
    std::vector<SeccompRule> syscalls;
    std::string listener_path;      // SCMP_ACT_NOTIFY: where the runtime sends the listener
    std::string listener_metadata;  // passed on with it
};

struct Personality {
    unsigned long domain = 0;  // PER_LINUX / PER_LINUX32
};

struct TimeOffset {
    int64_t secs = 0;
    uint32_t nanosecs = 0;
};

struct Linux {
    std::vector<IdMapping> uid_mappings, gid_mappings;
    std::map<std::string, std::string> sysctl;
    std::optional<Resources> resources;
    std::string cgroups_path;
    std::vector<Namespace> namespaces;
    std::vector<Device> devices;
    std::optional<Seccomp> seccomp;
    unsigned long rootfs_propagation = 0;  // MS_* propagation flags, 0 when unset
    std::vector<std::string> masked_paths;
    std::vector<std::string> readonly_paths;
    std::string mount_label;
    std::optional<Personality> personality;
    std::map<std::string, TimeOffset> time_offsets;  // "monotonic", "boottime"

    [[nodiscard]] const Namespace* find_namespace(NamespaceType type) const;
    [[nodiscard]] bool has_new_namespace(NamespaceType type) const;
};

struct Spec {
    std::string oci_version;
    std::optional<Process> process;
    Root root;
    std::string hostname;
    std::string domainname;
    std::vector<Mount> mounts;
    Hooks hooks;
    std::map<std::string, std::string> annotations;
    Linux linux;
};

// Parses and validates a config.json document. Throws berth::InvalidDocument naming the field.
Spec parse_spec(const nlohmann::json& document);
Spec load_spec(const std::string& config_path);

// Parses a LinuxResources object (linux.resources, or `update -r FILE`).
Resources parse_resources(const nlohmann::json& document,
                          const std::string& path = "linux.resources");

// Parses a process object (process, or `exec --process FILE`).
Process parse_process(const nlohmann::json& document, const std::string& path = "process");

}  // namespace berth::oci
