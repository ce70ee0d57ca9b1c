#include "oci/runtime_spec.hpp"

#include <linux/ioprio.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>

#include <array>
#include <set>
#include <utility>

#include "common/file.hpp"
#include "common/json_reader.hpp"
#include "common/path.hpp"
#include "common/strings.hpp"

namespace berth::oci {
namespace {

template <class T>
using NameTable = std::initializer_list<std::pair<const char*, T>>;

template <class T>
T lookup_name(const JsonReader& field, NameTable<T> table) {
    std::string name = field.as_string();
    for (const auto& [key, value] : table)
        if (name == key) return value;
    field.fail("unknown value \"" + name + "\"");
}

uint32_t as_u32(const JsonReader& r) {
    return static_cast<uint32_t>(r.as_uint(UINT32_MAX));
}

std::vector<IdMapping> parse_id_mappings(const JsonReader& parent, const std::string& key) {
    std::vector<IdMapping> out;
    auto field = parent.find(key);
    if (!field) return out;
    for (const auto& item : field->as_array()) {
        IdMapping m;
        m.container_id = as_u32(item.at("containerID"));
        m.host_id = as_u32(item.at("hostID"));
        m.size = as_u32(item.at("size"));
        if (m.size == 0) item.at("size").fail("mapping size must be greater than 0");
        out.push_back(m);
    }
    return out;
}

void require_absolute(const JsonReader& field, const std::string& value) {
    if (!is_absolute_path(value)) field.fail("\"" + value + "\" must be an absolute path");
}

const NameTable<int> kRlimits = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

User parse_user(const JsonReader& r) {
    User u;
    u.uid = as_u32(r.at("uid"));
    u.gid = as_u32(r.at("gid"));
    if (auto umask = r.opt_uint("umask", 0777)) u.umask = static_cast<uint32_t>(*umask);
    if (auto gids = r.find("additionalGids"))
        for (const auto& g : gids->as_array())
            u.additional_gids.push_back(as_u32(g));
    return u;
}

Scheduler parse_scheduler(const JsonReader& r) {
    Scheduler s;
    s.policy = lookup_name<int>(r.at("policy"), {{"SCHED_OTHER", SCHED_OTHER},
                                                 {"SCHED_FIFO", SCHED_FIFO},
                                                 {"SCHED_RR", SCHED_RR},
                                                 {"SCHED_BATCH", SCHED_BATCH},
                                                 {"SCHED_ISO", 4},
                                                 {"SCHED_IDLE", SCHED_IDLE},
                                                 {"SCHED_DEADLINE", 6}});
    s.nice = static_cast<int32_t>(r.opt_int("nice", -20, 19).value_or(0));
    s.priority = static_cast<int32_t>(r.opt_int("priority", 0, 99).value_or(0));
    if (auto flags = r.find("flags")) {
        for (const auto& f : flags->as_array()) {
            s.flags |= lookup_name<uint64_t>(f, {{"SCHED_FLAG_RESET_ON_FORK", 0x01},
                                                 {"SCHED_FLAG_RECLAIM", 0x02},
                                                 {"SCHED_FLAG_DL_OVERRUN", 0x04},
                                                 {"SCHED_FLAG_KEEP_POLICY", 0x08},
                                                 {"SCHED_FLAG_KEEP_PARAMS", 0x10},
                                                 {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
                                                 {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40}});
        }
    }
    s.runtime = r.opt_uint("runtime").value_or(0);
    s.deadline = r.opt_uint("deadline").value_or(0);
    s.period = r.opt_uint("period").value_or(0);
    if ((s.policy == SCHED_FIFO || s.policy == SCHED_RR) && s.priority == 0)
        r.fail("SCHED_FIFO and SCHED_RR need a priority between 1 and 99");
    return s;
}

Capabilities parse_capabilities(const JsonReader& r) {
    Capabilities c;
    c.bounding = r.string_array_or_empty("bounding");
    c.effective = r.string_array_or_empty("effective");
    c.inheritable = r.string_array_or_empty("inheritable");
    c.permitted = r.string_array_or_empty("permitted");
    c.ambient = r.string_array_or_empty("ambient");
    return c;
}

std::vector<Hook> parse_hook_list(const JsonReader& hooks, const std::string& key) {
    std::vector<Hook> out;
    auto list = hooks.find(key);
    if (!list) return out;
    for (const auto& item : list->as_array()) {
        Hook h;
        auto path = item.at("path");
        h.path = path.as_string();
        require_absolute(path, h.path);
        h.args = item.string_array_or_empty("args");
        h.env = item.string_array_or_empty("env");
        if (auto timeout = item.opt_int("timeout", 1, INT32_MAX))
            h.timeout = static_cast<int>(*timeout);
        out.push_back(std::move(h));
    }
    return out;
}

const NameTable<NamespaceType> kNamespaceTypes = {
    {"pid", NamespaceType::pid},       {"network", NamespaceType::network},
    {"mount", NamespaceType::mount},   {"ipc", NamespaceType::ipc},
    {"uts", NamespaceType::uts},       {"user", NamespaceType::user},
    {"cgroup", NamespaceType::cgroup}, {"time", NamespaceType::time},
};

std::optional<int64_t> opt_device_number(const JsonReader& r, const std::string& key) {
    return r.opt_int(key, -1, UINT32_MAX);
}

Device parse_device(const JsonReader& r) {
    Device d;
    auto path = r.at("path");
    d.path = path.as_string();
    require_absolute(path, d.path);
    auto type = r.at("type");
    std::string t = type.as_string();
    if (t != "c" && t != "b" && t != "u" && t != "p")
        type.fail("unknown device type \"" + t + "\"");
    d.type = t[0];
    if (d.type != 'p') {
        d.major = r.at("major").as_int(0, UINT32_MAX);
        d.minor = r.at("minor").as_int(0, UINT32_MAX);
    }
    if (auto mode = r.opt_uint("fileMode", 07777)) d.file_mode = static_cast<uint32_t>(*mode);
    if (auto uid = r.opt_uint("uid", UINT32_MAX)) d.uid = static_cast<uint32_t>(*uid);
    if (auto gid = r.opt_uint("gid", UINT32_MAX)) d.gid = static_cast<uint32_t>(*gid);
    return d;
}

DeviceRule parse_device_rule(const JsonReader& r) {
    DeviceRule rule;
    rule.allow = r.at("allow").as_bool();
    std::string type = r.string_or("type", "a");
    if (type != "a" && type != "c" && type != "b")
        r.at("type").fail("unknown device type \"" + type + "\" (expected a, c or b)");
    rule.type = type[0];
    rule.major = opt_device_number(r, "major");
    rule.minor = opt_device_number(r, "minor");
    if (rule.major == -1) rule.major.reset();
    if (rule.minor == -1) rule.minor.reset();
    rule.access = r.string_or("access", "rwm");
    if (rule.access.empty()) rule.access = "rwm";
    for (char c : rule.access)
        if (c != 'r' && c != 'w' && c != 'm')
            r.at("access").fail("invalid access \"" + rule.access + "\" (letters r, w, m)");
    return rule;
}

// "0-3,5,7-8": the cpuset list format.
void validate_cpu_list(const JsonReader& field, const std::string& list) {
    if (list.empty()) return;
    for (const auto& range : split(list, ',')) {
        auto bounds = split(range, '-');
        bool ok = (bounds.size() == 1 || bounds.size() == 2);
        for (const auto& b : bounds)
            ok = ok && parse_uint64(trim(b)).has_value();
        if (ok && bounds.size() == 2)
            ok = *parse_uint64(trim(bounds[0])) <= *parse_uint64(trim(bounds[1]));
        if (!ok) field.fail("invalid list \"" + list + "\" (expected a form like 0-3,5)");
    }
}

std::vector<ThrottleDevice> parse_throttle(const JsonReader& r, const std::string& key) {
    std::vector<ThrottleDevice> out;
    auto list = r.find(key);
    if (!list) return out;
    for (const auto& item : list->as_array()) {
        ThrottleDevice d;
        d.major = item.at("major").as_int(0, UINT32_MAX);
        d.minor = item.at("minor").as_int(0, UINT32_MAX);
        d.rate = item.at("rate").as_uint();
        out.push_back(d);
    }
    return out;
}

std::optional<uint16_t> opt_weight(const JsonReader& r, const std::string& key) {
    auto w = r.opt_uint(key, UINT16_MAX);
    if (!w) return std::nullopt;
    if (*w != 0 && (*w < 10 || *w > 1000)) r.at(key).fail("weight must be between 10 and 1000");
    return static_cast<uint16_t>(*w);
}

MemoryResources parse_memory(const JsonReader& r) {
    MemoryResources m;
    m.limit = r.opt_int("limit", -1);
    m.reservation = r.opt_int("reservation", -1);
    m.swap = r.opt_int("swap", -1);
    m.kernel = r.opt_int("kernel", -1);
    m.kernel_tcp = r.opt_int("kernelTCP", -1);
    m.swappiness = r.opt_uint("swappiness");
    // Some tools write -1 (as uint64 max) for "unset"; anything else above 100 is invalid.
    if (m.swappiness && *m.swappiness == UINT64_MAX) m.swappiness.reset();
    if (m.swappiness && *m.swappiness > 100) r.at("swappiness").fail("must be between 0 and 100");
    if (r.has("disableOOMKiller")) m.disable_oom_killer = r.at("disableOOMKiller").as_bool();
    if (r.has("useHierarchy")) m.use_hierarchy = r.at("useHierarchy").as_bool();
    if (r.has("checkBeforeUpdate")) m.check_before_update = r.at("checkBeforeUpdate").as_bool();
    if (m.limit && m.swap && *m.limit > 0 && *m.swap > 0 && *m.swap < *m.limit)
        r.at("swap").fail("memory+swap limit " + std::to_string(*m.swap) +
                          " is lower than the memory limit " + std::to_string(*m.limit));
    return m;
}

CpuResources parse_cpu(const JsonReader& r) {
    CpuResources c;
    c.shares = r.opt_uint("shares", UINT32_MAX);
    if (c.shares && *c.shares != 0 && *c.shares < 2) r.at("shares").fail("must be at least 2");
    c.quota = r.opt_int("quota", -1);
    if (c.quota && *c.quota != -1 && *c.quota != 0 && *c.quota < 1000)
        r.at("quota").fail("must be -1 (no limit) or at least 1000 microseconds");
    c.burst = r.opt_uint("burst");
    c.period = r.opt_uint("period", 1000000);
    if (c.period && *c.period != 0 && *c.period < 1000)
        r.at("period").fail("must be between 1000 and 1000000 microseconds");
    c.realtime_runtime = r.opt_int("realtimeRuntime", -1);
    c.realtime_period = r.opt_uint("realtimePeriod");
    c.cpus = r.string_or("cpus");
    if (!c.cpus.empty()) validate_cpu_list(r.at("cpus"), c.cpus);
    c.mems = r.string_or("mems");
    if (!c.mems.empty()) validate_cpu_list(r.at("mems"), c.mems);
    c.idle = r.opt_int("idle", 0, 1);
    return c;
}

BlockIoResources parse_block_io(const JsonReader& r) {
    BlockIoResources b;
    b.weight = opt_weight(r, "weight");
    b.leaf_weight = opt_weight(r, "leafWeight");
    if (auto list = r.find("weightDevice")) {
        for (const auto& item : list->as_array()) {
            WeightDevice d;
            d.major = item.at("major").as_int(0, UINT32_MAX);
            d.minor = item.at("minor").as_int(0, UINT32_MAX);
            d.weight = opt_weight(item, "weight");
            d.leaf_weight = opt_weight(item, "leafWeight");
            b.weight_device.push_back(d);
        }
    }
    b.throttle_read_bps = parse_throttle(r, "throttleReadBpsDevice");
    b.throttle_write_bps = parse_throttle(r, "throttleWriteBpsDevice");
    b.throttle_read_iops = parse_throttle(r, "throttleReadIOPSDevice");
    b.throttle_write_iops = parse_throttle(r, "throttleWriteIOPSDevice");
    return b;
}

bool valid_page_size(const std::string& size) {
    // "<n>KB", "<n>MB", "<n>GB" as the hugetlb controller names them.
    if (size.size() < 3) return false;
    std::string unit = size.substr(size.size() - 2);
    if (unit != "KB" && unit != "MB" && unit != "GB") return false;
    return parse_uint64(size.substr(0, size.size() - 2)).has_value();
}

const NameTable<SeccompArgOp> kSeccompOps = {
    {"SCMP_CMP_NE", SeccompArgOp::not_equal},           {"SCMP_CMP_LT", SeccompArgOp::less_than},
    {"SCMP_CMP_LE", SeccompArgOp::less_equal},          {"SCMP_CMP_EQ", SeccompArgOp::equal_to},
    {"SCMP_CMP_GE", SeccompArgOp::greater_equal},       {"SCMP_CMP_GT", SeccompArgOp::greater_than},
    {"SCMP_CMP_MASKED_EQ", SeccompArgOp::masked_equal},
};

const std::set<std::string> kSeccompActions = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",          "SCMP_ACT_NOTIFY"};

const std::set<std::string> kSeccompArchs = {
    "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",     "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",    "SCMP_ARCH_SH",       "SCMP_ARCH_SHEB"};

const std::set<std::string> kSeccompFlags = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                             "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                                             "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};

std::string parse_seccomp_action(const JsonReader& field) {
    std::string action = field.as_string();
    if (!kSeccompActions.count(action)) field.fail("unknown seccomp action \"" + action + "\"");
    return action;
}

Seccomp parse_seccomp(const JsonReader& r) {
    Seccomp s;
    s.default_action = parse_seccomp_action(r.at("defaultAction"));
    if (auto e = r.opt_uint("defaultErrnoRet", UINT32_MAX))
        s.default_errno_ret = static_cast<uint32_t>(*e);
    if (auto archs = r.find("architectures")) {
        for (const auto& a : archs->as_array()) {
            std::string arch = a.as_string();
            if (!kSeccompArchs.count(arch)) a.fail("unknown seccomp architecture \"" + arch + "\"");
            s.architectures.push_back(arch);
        }
    }
    if (auto flags = r.find("flags")) {
        for (const auto& f : flags->as_array()) {
            std::string flag = f.as_string();
            if (!kSeccompFlags.count(flag)) f.fail("unknown seccomp flag \"" + flag + "\"");
            s.flags.push_back(flag);
        }
    }
    s.listener_path = r.string_or("listenerPath");
    s.listener_metadata = r.string_or("listenerMetadata");
    if (!s.listener_path.empty() && !s.listener_path.starts_with('/'))
        r.at("listenerPath").fail("must be an absolute path");
    if (auto list = r.find("syscalls")) {
        for (const auto& item : list->as_array()) {
            SeccompRule rule;
            rule.names = item.at("names").as_string_array();
            if (rule.names.empty()) item.at("names").fail("must name at least one syscall");
            rule.action = parse_seccomp_action(item.at("action"));
            if (auto e = item.opt_uint("errnoRet", UINT32_MAX))
                rule.errno_ret = static_cast<uint32_t>(*e);
            if (auto args = item.find("args")) {
                for (const auto& a : args->as_array()) {
                    SeccompArg arg;
                    arg.index = static_cast<unsigned>(a.at("index").as_uint(5));
                    arg.value = a.at("value").as_uint();
                    arg.value_two = a.opt_uint("valueTwo").value_or(0);
                    arg.op = lookup_name<SeccompArgOp>(a.at("op"), kSeccompOps);
                    rule.args.push_back(arg);
                }
            }
            s.syscalls.push_back(std::move(rule));
        }
    }
    return s;
}

unsigned long parse_propagation(const JsonReader& field) {
    return lookup_name<unsigned long>(field, {{"shared", MS_SHARED},
                                              {"slave", MS_SLAVE},
                                              {"private", MS_PRIVATE},
                                              {"unbindable", MS_UNBINDABLE},
                                              {"rshared", MS_SHARED | MS_REC},
                                              {"rslave", MS_SLAVE | MS_REC},
                                              {"rprivate", MS_PRIVATE | MS_REC},
                                              {"runbindable", MS_UNBINDABLE | MS_REC}});
}

Linux parse_linux(const JsonReader& r) {
    Linux l;
    l.uid_mappings = parse_id_mappings(r, "uidMappings");
    l.gid_mappings = parse_id_mappings(r, "gidMappings");
    if (auto sysctl = r.find("sysctl")) l.sysctl = sysctl->as_string_map();
    if (auto res = r.find("resources")) l.resources = parse_resources(res->node(), res->path());
    l.cgroups_path = r.string_or("cgroupsPath");
    if (auto list = r.find("namespaces")) {
        std::set<NamespaceType> seen;
        for (const auto& item : list->as_array()) {
            Namespace ns;
            ns.type = lookup_name<NamespaceType>(item.at("type"), kNamespaceTypes);
            if (!seen.insert(ns.type).second)
                item.at("type").fail(std::string("duplicate namespace type \"") +
                                     namespace_type_name(ns.type) + "\"");
            ns.path = item.string_or("path");
            if (!ns.path.empty()) require_absolute(item.at("path"), ns.path);
            l.namespaces.push_back(std::move(ns));
        }
    }
    if (auto list = r.find("devices"))
        for (const auto& item : list->as_array())
            l.devices.push_back(parse_device(item));
    if (auto seccomp = r.find("seccomp")) l.seccomp = parse_seccomp(*seccomp);
    if (auto prop = r.find("rootfsPropagation")) {
        if (!prop->as_string().empty()) l.rootfs_propagation = parse_propagation(*prop);
    }
    for (const char* key : {"maskedPaths", "readonlyPaths"}) {
        auto list = r.find(key);
        if (!list) continue;
        auto& target = std::string(key) == "maskedPaths" ? l.masked_paths : l.readonly_paths;
        for (const auto& item : list->as_array()) {
            std::string p = item.as_string();
            require_absolute(item, p);
            target.push_back(p);
        }
    }
    l.mount_label = r.string_or("mountLabel");
    if (auto pers = r.find("personality")) {
        Personality p;
        p.domain = lookup_name<unsigned long>(pers->at("domain"),
                                              {{"LINUX", PER_LINUX}, {"LINUX32", PER_LINUX32}});
        if (auto flags = pers->find("flags"); flags && !flags->as_array().empty())
            flags->fail("personality flags are not supported");
        l.personality = p;
    }
    if (auto offsets = r.find("timeOffsets")) {
        for (const auto& [clock, value] : offsets->as_object()) {
            if (clock != "monotonic" && clock != "boottime")
                value.fail("unknown clock (expected monotonic or boottime)");
            TimeOffset t;
            t.secs = value.opt_int("secs").value_or(0);
            t.nanosecs = static_cast<uint32_t>(value.opt_uint("nanosecs", 999999999).value_or(0));
            l.time_offsets[clock] = t;
        }
    }
    // Features berth-runtime does not implement: refuse rather than silently ignore.
    for (const char* key : {"intelRdt", "memoryPolicy", "netDevices"})
        if (r.has(key)) r.at(key).fail("not supported by berth-runtime");
    return l;
}

Root parse_root(const JsonReader& r) {
    Root root;
    root.path = r.at("path").as_string();
    if (root.path.empty()) r.at("path").fail("must not be empty");
    root.readonly = r.bool_or("readonly");
    return root;
}

Mount parse_mount(const JsonReader& r) {
    Mount m;
    auto dest = r.at("destination");
    m.destination = dest.as_string();
    if (m.destination.empty()) dest.fail("must not be empty");
    // Relative destinations are deprecated; the spec says they are relative to "/".
    if (!is_absolute_path(m.destination)) m.destination = "/" + m.destination;
    m.type = r.string_or("type");
    m.source = r.string_or("source");
    m.options = r.string_array_or_empty("options");
    m.uid_mappings = parse_id_mappings(r, "uidMappings");
    m.gid_mappings = parse_id_mappings(r, "gidMappings");
    return m;
}

void validate_cross_fields(const Spec& spec, const JsonReader& root) {
    const Linux& l = spec.linux;
    const bool user_ns = l.find_namespace(NamespaceType::user) != nullptr;
    if (!user_ns && (!l.uid_mappings.empty() || !l.gid_mappings.empty()))
        root.at("linux").fail("uidMappings/gidMappings need a user namespace");
    if (user_ns && l.has_new_namespace(NamespaceType::user) &&
        (l.uid_mappings.empty() || l.gid_mappings.empty()))
        root.at("linux").fail("a new user namespace needs both uidMappings and gidMappings");
    if (!spec.hostname.empty() && !l.find_namespace(NamespaceType::uts))
        root.at("hostname").fail("setting the hostname needs a uts namespace");
    if (!spec.domainname.empty() && !l.find_namespace(NamespaceType::uts))
        root.at("domainname").fail("setting the domainname needs a uts namespace");
    if (!l.time_offsets.empty() && !l.has_new_namespace(NamespaceType::time))
        root.at("linux").at("timeOffsets").fail("time offsets need a new time namespace");
}

}  // namespace

const char* namespace_type_name(NamespaceType type) {
    switch (type) {
        case NamespaceType::pid:
            return "pid";
        case NamespaceType::network:
            return "network";
        case NamespaceType::mount:
            return "mount";
        case NamespaceType::ipc:
            return "ipc";
        case NamespaceType::uts:
            return "uts";
        case NamespaceType::user:
            return "user";
        case NamespaceType::cgroup:
            return "cgroup";
        case NamespaceType::time:
            return "time";
    }
    return "?";
}

const char* namespace_proc_name(NamespaceType type) {
    switch (type) {
        case NamespaceType::network:
            return "net";
        case NamespaceType::mount:
            return "mnt";
        default:
            return namespace_type_name(type);
    }
}

int namespace_clone_flag(NamespaceType type) {
    switch (type) {
        case NamespaceType::pid:
            return CLONE_NEWPID;
        case NamespaceType::network:
            return CLONE_NEWNET;
        case NamespaceType::mount:
            return CLONE_NEWNS;
        case NamespaceType::ipc:
            return CLONE_NEWIPC;
        case NamespaceType::uts:
            return CLONE_NEWUTS;
        case NamespaceType::user:
            return CLONE_NEWUSER;
        case NamespaceType::cgroup:
            return CLONE_NEWCGROUP;
        case NamespaceType::time:
            return 0x80;  // CLONE_NEWTIME
    }
    return 0;
}

const Namespace* Linux::find_namespace(NamespaceType type) const {
    for (const auto& ns : namespaces)
        if (ns.type == type) return &ns;
    return nullptr;
}

bool Linux::has_new_namespace(NamespaceType type) const {
    const Namespace* ns = find_namespace(type);
    return ns != nullptr && ns->path.empty();
}

Process parse_process(const nlohmann::json& document, const std::string& path) {
    JsonReader r(document, path);
    r.require_object();
    Process p;
    p.terminal = r.bool_or("terminal");
    if (auto box = r.find("consoleSize")) {
        ConsoleSize size;
        size.height = static_cast<uint16_t>(box->at("height").as_uint(UINT16_MAX));
        size.width = static_cast<uint16_t>(box->at("width").as_uint(UINT16_MAX));
        p.console_size = size;
    }
    p.user = parse_user(r.at("user"));
    p.args = r.string_array_or_empty("args");
    if (p.args.empty()) r.at("args").fail("must contain at least the program to run");
    p.env = r.string_array_or_empty("env");
    auto cwd = r.at("cwd");
    p.cwd = cwd.as_string();
    require_absolute(cwd, p.cwd);
    if (auto caps = r.find("capabilities")) p.capabilities = parse_capabilities(*caps);
    if (auto list = r.find("rlimits")) {
        std::set<int> seen;
        for (const auto& item : list->as_array()) {
            Rlimit limit;
            limit.type = item.at("type").as_string();
            limit.resource = lookup_name<int>(item.at("type"), kRlimits);
            if (!seen.insert(limit.resource).second)
                item.at("type").fail("duplicate rlimit \"" + limit.type + "\"");
            limit.hard = item.at("hard").as_uint();
            limit.soft = item.at("soft").as_uint();
            if (limit.soft > limit.hard) item.fail("soft limit is greater than the hard limit");
            p.rlimits.push_back(limit);
        }
    }
    p.no_new_privileges = r.bool_or("noNewPrivileges");
    p.apparmor_profile = r.string_or("apparmorProfile");
    if (auto oom = r.opt_int("oomScoreAdj", -1000, 1000)) p.oom_score_adj = static_cast<int>(*oom);
    if (auto sched = r.find("scheduler")) p.scheduler = parse_scheduler(*sched);
    p.selinux_label = r.string_or("selinuxLabel");
    if (auto io = r.find("ioPriority")) {
        IoPriority prio;
        prio.io_class =
            lookup_name<int>(io->at("class"), {{"IOPRIO_CLASS_RT", IOPRIO_CLASS_RT},
                                               {"IOPRIO_CLASS_BE", IOPRIO_CLASS_BE},
                                               {"IOPRIO_CLASS_IDLE", IOPRIO_CLASS_IDLE}});
        prio.priority = static_cast<int>(io->opt_int("priority", 0, 7).value_or(0));
        p.io_priority = prio;
    }
    if (r.has("execCPUAffinity")) r.at("execCPUAffinity").fail("not supported by berth-runtime");
    return p;
}

Resources parse_resources(const nlohmann::json& document, const std::string& path) {
    JsonReader r(document, path);
    r.require_object();
    Resources res;
    if (auto list = r.find("devices"))
        for (const auto& item : list->as_array())
            res.devices.push_back(parse_device_rule(item));
    if (auto m = r.find("memory")) res.memory = parse_memory(*m);
    if (auto c = r.find("cpu")) res.cpu = parse_cpu(*c);
    if (auto p = r.find("pids")) {
        if (auto limit = p->opt_int("limit", -1)) res.pids_limit = *limit;
    }
    if (auto b = r.find("blockIO")) res.block_io = parse_block_io(*b);
    if (auto list = r.find("hugepageLimits")) {
        for (const auto& item : list->as_array()) {
            HugepageLimit h;
            h.page_size = item.at("pageSize").as_string();
            if (!valid_page_size(h.page_size))
                item.at("pageSize")
                    .fail("invalid page size \"" + h.page_size + "\" (expected e.g. 2MB)");
            h.limit = item.at("limit").as_uint();
            res.hugepage_limits.push_back(h);
        }
    }
    if (auto n = r.find("network")) {
        NetworkResources net;
        if (auto id = n->opt_uint("classID", UINT32_MAX)) net.class_id = static_cast<uint32_t>(*id);
        if (auto list = n->find("priorities")) {
            for (const auto& item : list->as_array()) {
                InterfacePriority prio;
                prio.name = item.at("name").as_string();
                prio.priority = static_cast<uint32_t>(item.at("priority").as_uint(UINT32_MAX));
                net.priorities.push_back(prio);
            }
        }
        res.network = net;
    }
    if (r.has("rdma")) r.at("rdma").fail("the rdma controller is not supported by berth-runtime");
    if (auto unified = r.find("unified")) {
        res.unified = unified->as_string_map();
        for (const auto& [key, value] : res.unified) {
            if (key.empty() || key.find('/') != std::string::npos ||
                key.find('.') == std::string::npos || key.rfind("cgroup.", 0) == 0)
                unified->at(key).fail("invalid cgroup v2 file name \"" + key + "\"");
        }
    }
    return res;
}

Spec parse_spec(const nlohmann::json& document) {
    JsonReader r(document, "");
    r.require_object();
    Spec spec;
    spec.oci_version = r.at("ociVersion").as_string();
    if (spec.oci_version.rfind("1.", 0) != 0)
        r.at("ociVersion").fail("unsupported version \"" + spec.oci_version + "\" (expected 1.x)");
    if (auto p = r.find("process")) spec.process = parse_process(p->node(), "process");
    spec.root = parse_root(r.at("root"));
    spec.hostname = r.string_or("hostname");
    spec.domainname = r.string_or("domainname");
    if (auto list = r.find("mounts"))
        for (const auto& item : list->as_array())
            spec.mounts.push_back(parse_mount(item));
    if (auto hooks = r.find("hooks")) {
        hooks->require_object();
        spec.hooks.prestart = parse_hook_list(*hooks, "prestart");
        spec.hooks.create_runtime = parse_hook_list(*hooks, "createRuntime");
        spec.hooks.create_container = parse_hook_list(*hooks, "createContainer");
        spec.hooks.start_container = parse_hook_list(*hooks, "startContainer");
        spec.hooks.poststart = parse_hook_list(*hooks, "poststart");
        spec.hooks.poststop = parse_hook_list(*hooks, "poststop");
    }
    if (auto ann = r.find("annotations")) spec.annotations = ann->as_string_map();
    if (auto l = r.find("linux")) spec.linux = parse_linux(*l);
    validate_cross_fields(spec, r);
    return spec;
}

Spec load_spec(const std::string& config_path) {
    std::string text = read_file(config_path);
    nlohmann::json document = parse_json(text, config_path);
    try {
        return parse_spec(document);
    } catch (const InvalidDocument& e) {
        throw InvalidDocument(config_path + ": " + e.what());
    }
}

}  // namespace berth::oci
