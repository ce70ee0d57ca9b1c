#include "engine/container/spec.hpp"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cmath>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/strings.hpp"
#include "engine/container/seccomp_json.hpp"
#include "image/runtime_config.hpp"
#include "runtime/namespaces.hpp"
#include "runtime/seccomp/default_profile.hpp"

namespace berth::engine {
namespace {

using ojson = nlohmann::ordered_json;

constexpr const char* kAllCapabilities[] = {"CAP_CHOWN",
                                            "CAP_DAC_OVERRIDE",
                                            "CAP_DAC_READ_SEARCH",
                                            "CAP_FOWNER",
                                            "CAP_FSETID",
                                            "CAP_KILL",
                                            "CAP_SETGID",
                                            "CAP_SETUID",
                                            "CAP_SETPCAP",
                                            "CAP_LINUX_IMMUTABLE",
                                            "CAP_NET_BIND_SERVICE",
                                            "CAP_NET_BROADCAST",
                                            "CAP_NET_ADMIN",
                                            "CAP_NET_RAW",
                                            "CAP_IPC_LOCK",
                                            "CAP_IPC_OWNER",
                                            "CAP_SYS_MODULE",
                                            "CAP_SYS_RAWIO",
                                            "CAP_SYS_CHROOT",
                                            "CAP_SYS_PTRACE",
                                            "CAP_SYS_PACCT",
                                            "CAP_SYS_ADMIN",
                                            "CAP_SYS_BOOT",
                                            "CAP_SYS_NICE",
                                            "CAP_SYS_RESOURCE",
                                            "CAP_SYS_TIME",
                                            "CAP_SYS_TTY_CONFIG",
                                            "CAP_MKNOD",
                                            "CAP_LEASE",
                                            "CAP_AUDIT_WRITE",
                                            "CAP_AUDIT_CONTROL",
                                            "CAP_SETFCAP",
                                            "CAP_MAC_OVERRIDE",
                                            "CAP_MAC_ADMIN",
                                            "CAP_SYSLOG",
                                            "CAP_WAKE_ALARM",
                                            "CAP_BLOCK_SUSPEND",
                                            "CAP_AUDIT_READ",
                                            "CAP_PERFMON",
                                            "CAP_BPF",
                                            "CAP_CHECKPOINT_RESTORE"};

std::string capability_name(std::string text) {
    for (char& c : text)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (!text.starts_with("CAP_")) text = "CAP_" + text;
    if (text == "CAP_ALL") return text;
    for (const char* known : kAllCapabilities)
        if (text == known) return text;
    throw Error("unknown capability \"" + text + "\"");
}

// What this process may hand on: its bounding set (/proc/self/status CapBnd). Root in a
// container may lack some (CAP_SYS_RESOURCE here), and a runtime cannot grant those.
uint64_t own_bounding_set() {
    auto status = read_file_if_exists("/proc/self/status").value_or("");
    size_t at = status.find("CapBnd:");
    if (at == std::string::npos) return ~0ULL;
    return std::strtoull(status.c_str() + at + 7, nullptr, 16);
}

bool grantable(const std::string& name, uint64_t bounding) {
    for (size_t i = 0; i < std::size(kAllCapabilities); ++i)
        if (name == kAllCapabilities[i]) return (bounding >> i) & 1;
    return false;
}

std::vector<std::string> all_grantable(uint64_t bounding) {
    std::vector<std::string> caps;
    for (size_t i = 0; i < std::size(kAllCapabilities); ++i)
        if ((bounding >> i) & 1) caps.emplace_back(kAllCapabilities[i]);
    return caps;
}

std::vector<std::string> capability_set(const CreateOptions& o) {
    uint64_t bounding = own_bounding_set();
    if (o.privileged) return all_grantable(bounding);
    std::vector<std::string> caps;
    for (const auto& c : default_capabilities())
        if (grantable(c, bounding)) caps.push_back(c);
    for (const auto& drop : o.cap_drop) {
        std::string name = capability_name(drop);
        if (name == "CAP_ALL")
            caps.clear();
        else
            std::erase(caps, name);
    }
    for (const auto& add : o.cap_add) {
        std::string name = capability_name(add);
        if (name == "CAP_ALL") {
            caps = all_grantable(bounding);
            continue;
        }
        if (!grantable(name, bounding))
            throw Error("--cap-add " + add + ": berth itself lacks " + name +
                        " (its bounding set)");
        if (std::find(caps.begin(), caps.end(), name) == caps.end()) caps.push_back(name);
    }
    return caps;
}

ojson bind_mount(const std::string& source, const std::string& destination, bool readonly) {
    ojson options = {"rbind", "rprivate"};
    options.push_back(readonly ? "ro" : "rw");
    return {
        {"destination", destination}, {"type", "bind"}, {"source", source}, {"options", options}};
}

// A seccomp profile file: OCI's linux.seccomp or docker's format (its archMap and the
// includes/excludes conditions are not interpreted: rules with conditions are skipped).
// moby's "includes"/"excludes" of one rule.
runtime::seccomp::RuleCondition rule_condition(const std::string& path, const nlohmann::json& rule,
                                               const char* key) {
    runtime::seccomp::RuleCondition c;
    if (!rule.contains(key) || !rule[key].is_object()) return c;
    const nlohmann::json& j = rule[key];
    try {
        c.caps = j.value("caps", std::vector<std::string>{});
        c.arches = j.value("arches", std::vector<std::string>{});
        c.min_kernel = j.value("minKernel", std::string());
    } catch (const nlohmann::json::exception&) {
        throw Error("seccomp profile " + path + ": syscalls: " + key +
                    ": caps and arches must be lists of strings, minKernel a string");
    }
    return c;
}

ojson seccomp_from_file(const std::string& path, const std::vector<std::string>& caps) {
    auto doc = nlohmann::json::parse(read_file(path), nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("defaultAction"))
        throw Error("seccomp profile " + path + ": not a JSON seccomp profile");
    ojson out;
    out["defaultAction"] = doc["defaultAction"];
    if (doc.contains("defaultErrnoRet")) out["defaultErrnoRet"] = doc["defaultErrnoRet"];
    if (doc.contains("architectures")) {
        out["architectures"] = doc["architectures"];
    } else {
        out["architectures"] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
    }
    ojson rules = ojson::array();
    const nlohmann::json syscalls = doc.value("syscalls", nlohmann::json::array());
    if (!syscalls.is_array()) throw Error("seccomp profile " + path + ": syscalls: not an array");
    for (const auto& rule : syscalls) {
        if (!rule.is_object())
            throw Error("seccomp profile " + path + ": syscalls: a rule that is not an object");
        if (!runtime::seccomp::docker_rule_applies(rule_condition(path, rule, "includes"),
                                                   rule_condition(path, rule, "excludes"), caps))
            continue;
        ojson r;
        if (rule.contains("names"))
            r["names"] = rule["names"];
        else if (rule.contains("name"))
            r["names"] = {rule["name"]};
        r["action"] = rule.value("action", "SCMP_ACT_ALLOW");
        if (rule.contains("errnoRet")) r["errnoRet"] = rule["errnoRet"];
        if (rule.contains("args") && rule["args"].is_array() && !rule["args"].empty())
            r["args"] = rule["args"];
        rules.push_back(r);
    }
    out["syscalls"] = rules;
    return out;
}

}  // namespace

std::vector<std::string> default_capabilities() {
    return {"CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
            "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
            "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
            "CAP_KILL",    "CAP_AUDIT_WRITE"};
}

BuiltSpec build_container_spec(const SpecInputs& in) {
    const CreateOptions& o = *in.options;
    image::RuntimeConfigOptions rc;
    rc.entrypoint = o.entrypoint;
    rc.command = o.command;
    rc.env = in.env;
    rc.user = o.user;
    rc.workdir = o.workdir;
    rc.terminal = o.tty;
    rc.readonly_rootfs = o.read_only;
    rc.hostname = in.hostname;
    image::RuntimeConfig config = image::make_runtime_config(*in.image, in.rootfs_fd, rc);
    ojson& spec = config.spec;
    ojson& process = spec["process"];
    ojson& linux = spec["linux"];

    if (o.init) {
        // berth-monitor is static and doubles as a minimal init (reaps, forwards signals):
        // bind-mounted read-only at /sbin/berth-init, nothing is copied into the rootfs.
        ojson args = ojson::array({"/sbin/berth-init", "--init", "--"});
        for (const auto& a : process["args"])
            args.push_back(a);
        process["args"] = args;
    }

    // Capabilities: docker's set, or what --cap-add/--cap-drop/--privileged make of it.
    std::vector<std::string> caps = capability_set(o);
    process["capabilities"] = {{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
    bool no_new_privileges = false;
    std::string seccomp_choice = "default";
    for (const auto& opt : o.security_opts) {
        if (opt == "no-new-privileges" || opt == "no-new-privileges=true" ||
            opt == "no-new-privileges:true") {
            no_new_privileges = true;
        } else if (opt.starts_with("seccomp=") || opt.starts_with("seccomp:")) {
            seccomp_choice = opt.substr(8);
        } else if (opt.starts_with("label=") || opt.starts_with("apparmor=")) {
            // SELinux/AppArmor are not enabled on the hosts berth targets by default.
        } else {
            throw Error("invalid --security-opt \"" + opt + "\"");
        }
    }
    process["noNewPrivileges"] = no_new_privileges;

    ojson rlimits = ojson::array();
    // docker's 1048576 open files, or as many as this process may raise its limit to
    // (without CAP_SYS_RESOURCE the hard limit cannot go up).
    rlimit nofile{};
    ::getrlimit(RLIMIT_NOFILE, &nofile);
    rlim_t files = std::min<rlim_t>(1048576, nofile.rlim_max);
    rlimits.push_back({{"type", "RLIMIT_NOFILE"}, {"hard", files}, {"soft", files}});
    for (const auto& text : o.ulimits) {
        Ulimit u = parse_ulimit(text);
        for (auto it = rlimits.begin(); it != rlimits.end();)
            it = (*it)["type"] == u.type ? rlimits.erase(it) : it + 1;
        rlimits.push_back({{"type", u.type}, {"hard", u.hard}, {"soft", u.soft}});
    }
    process["rlimits"] = rlimits;

    // Mounts: the defaults, then /etc files, then the user's.
    ojson& mounts = spec["mounts"];
    if (o.privileged) {
        for (auto& m : mounts)
            if (m["destination"] == "/sys") m["options"] = {"nosuid", "noexec", "nodev", "rw"};
    }
    mounts.push_back(bind_mount(in.container_dir + "/hosts", "/etc/hosts", false));
    mounts.push_back(bind_mount(in.container_dir + "/resolv.conf", "/etc/resolv.conf", false));
    mounts.push_back(bind_mount(in.container_dir + "/hostname", "/etc/hostname", false));
    if (o.init) mounts.push_back(bind_mount(in.init_binary, "/sbin/berth-init", true));
    for (const auto& m : in.mounts) {
        if (m.spec.type == "tmpfs") {
            ojson options = {"nosuid", "nodev"};
            for (const auto& extra : split(m.spec.tmpfs_options, ','))
                if (!extra.empty()) options.push_back(extra);
            if (m.spec.readonly) options.push_back("ro");
            mounts.push_back({{"destination", m.spec.destination},
                              {"type", "tmpfs"},
                              {"source", "tmpfs"},
                              {"options", options}});
        } else {
            mounts.push_back(bind_mount(m.host_path, m.spec.destination, m.spec.readonly));
        }
    }

    // Namespaces: network as asked; the rest new.
    ojson namespaces = ojson::array();
    for (const auto& ns : linux["namespaces"]) {
        if (ns["type"] == "network") continue;
        namespaces.push_back(ns);
    }
    if (in.network_namespace.empty()) {
        namespaces.push_back({{"type", "network"}});
        // --network none: loopback only, and up (no CNI plugin runs for it).
        spec["annotations"][std::string(runtime::kLoopbackAnnotation)] = "up";
    } else if (in.network_namespace != "host")
        namespaces.push_back({{"type", "network"}, {"path", in.network_namespace}});
    linux["namespaces"] = namespaces;

    if (o.privileged) {
        linux.erase("maskedPaths");
        linux.erase("readonlyPaths");
    }

    // Resources.
    ojson resources = linux.contains("resources") ? linux["resources"] : ojson::object();
    if (o.privileged) resources["devices"] = {{{"allow", true}, {"access", "rwm"}}};
    if (!o.memory.empty() && !in.rootless) {
        int64_t limit = parse_size(o.memory);
        if (limit < 6 * 1024 * 1024) throw Error("--memory: the minimum is 6 MiB");
        // No swap beyond the limit: an OOM kill is then what exceeding it means.
        resources["memory"] = {{"limit", limit}, {"swap", limit}};
    }
    if (!o.cpus.empty() && !in.rootless) {
        double cpus = 0;
        try {
            cpus = std::stod(o.cpus);
        } catch (const std::exception&) {
            cpus = 0;
        }
        if (!(cpus > 0)) throw Error("invalid --cpus \"" + o.cpus + "\"");
        resources["cpu"] = {{"quota", static_cast<int64_t>(std::llround(cpus * 100000))},
                            {"period", 100000}};
    }
    if (o.pids_limit != 0 && !in.rootless) resources["pids"] = {{"limit", o.pids_limit}};
    ojson devices = ojson::array();
    for (const auto& text : o.devices) {
        std::vector<std::string> parts = split(text, ':');
        std::string host = parts[0];
        std::string inside = parts.size() > 1 ? parts[1] : host;
        std::string access = parts.size() > 2 ? parts[2] : "rwm";
        struct stat st {};
        if (::stat(host.c_str(), &st) != 0) throw_errno("--device", host);
        if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
            throw Error("--device " + host + ": not a device node");
        const char* type = S_ISCHR(st.st_mode) ? "c" : "b";
        auto major_number = static_cast<int64_t>(major(st.st_rdev));
        auto minor_number = static_cast<int64_t>(minor(st.st_rdev));
        devices.push_back({{"path", inside},
                           {"type", type},
                           {"major", major_number},
                           {"minor", minor_number},
                           {"fileMode", st.st_mode & 07777},
                           {"uid", 0},
                           {"gid", 0}});
        resources["devices"].push_back({{"allow", true},
                                        {"type", type},
                                        {"major", major_number},
                                        {"minor", minor_number},
                                        {"access", access}});
    }
    if (!devices.empty()) linux["devices"] = devices;
    linux["resources"] = resources;
    if (in.cgroups_path.empty())
        linux.erase("cgroupsPath");  // the runtime's cgroups, where it may not make its own
    else
        linux["cgroupsPath"] = in.cgroups_path;

    // Seccomp: docker's default profile for this capability set, unless told otherwise.
    if (seccomp_choice.starts_with("record:")) {
        // Every call a notification to the monitor, which records it and lets it continue
        // (engine/monitor/seccomp_recorder.hpp); all three x86 ABIs, so that none is killed.
        linux["seccomp"] = {
            {"defaultAction", "SCMP_ACT_NOTIFY"},
            {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
            {"listenerPath", in.seccomp_listener}};
    } else if (!o.privileged && seccomp_choice != "unconfined") {
        if (seccomp_choice == "default")
            linux["seccomp"] = seccomp_to_json(runtime::seccomp::docker_default_profile(caps));
        else
            linux["seccomp"] = seccomp_from_file(seccomp_choice, caps);
    }

    if (!o.stop_signal.empty())
        spec["annotations"]["org.opencontainers.image.stopSignal"] = o.stop_signal;
    BuiltSpec out;
    out.spec = std::move(spec);
    out.image_volumes = config.volumes;
    return out;
}

}  // namespace berth::engine
