// Engine::create: validate every flag, then make the record, the rootfs, the volumes, the
// /etc files and config.json; on any failure undo what was made.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/log.hpp"
#include "common/path.hpp"
#include "common/remove_tree.hpp"
#include "common/strings.hpp"
#include "common/time.hpp"
#include "engine/container/names.hpp"
#include "engine/container/spec.hpp"
#include "engine/container/specs.hpp"
#include "engine/engine.hpp"
#include "engine/monitor/config.hpp"
#include "engine/network/etc_files.hpp"
#include "engine/network/slirp4netns.hpp"
#include "engine/rootless/namespace.hpp"
#include "image/rootfs.hpp"
#include "image/runtime_config.hpp"

namespace berth::engine {
namespace {

std::vector<std::string> read_env_file(const std::string& path) {
    std::vector<std::string> out;
    auto text = read_file_if_exists(path);
    if (!text) throw Error("env file " + path + ": no such file");
    for (const auto& line : split(*text, '\n')) {
        std::string_view t = trim(line);
        if (t.empty() || t.front() == '#') continue;
        out.emplace_back(t);
    }
    return out;
}

// KEY=VALUE as given; a bare KEY takes our own value, and is left out when we have none.
void add_env(std::vector<std::string>& env, const std::string& entry) {
    if (entry.find('=') != std::string::npos) {
        if (entry.front() == '=') throw Error("invalid environment variable \"" + entry + "\"");
        env.push_back(entry);
        return;
    }
    if (const char* value = std::getenv(entry.c_str())) env.push_back(entry + "=" + value);
}

// what: the field the program is for ("runtime X"); hint follows the error.
std::string find_program(const std::string& name, const std::string& what,
                         const std::string& hint) {
    if (name.find('/') != std::string::npos) {
        if (::access(name.c_str(), X_OK) != 0) throw Error(what + " not found" + hint);
        return name;
    }
    const char* path = std::getenv("PATH");
    for (const auto& dir : split(path ? path : "/usr/sbin:/usr/bin:/sbin:/bin", ':')) {
        std::string candidate = dir + "/" + name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    throw Error(what + " not found in PATH" + hint);
}

// docker's default for root; podman's for an unprivileged user.
std::string default_network(bool rootless) {
    return rootless ? kSlirp4netnsNetwork : "bridge";
}

bool path_exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

ContainerRecord Engine::create(const CreateOptions& o) {
    const bool unprivileged = rootless();
    // 1. Everything that can be wrong with the request, before anything is made.
    RestartPolicy restart = parse_restart_policy(o.restart);
    if (o.autoremove && restart.name != "no")
        throw Error("conflicting options: --restart and --rm");
    if (!o.name.empty() && !valid_name(o.name))
        throw Error("invalid container name \"" + o.name +
                    "\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
    std::vector<PortMapping> ports;
    for (const auto& p : o.publish)
        for (auto& mapping : parse_publish(p))
            ports.push_back(mapping);
    std::vector<MountSpec> mounts;
    for (const auto& v : o.volumes)
        mounts.push_back(parse_volume_flag(v));
    for (const auto& m : o.mounts)
        mounts.push_back(parse_mount_flag(m));
    for (const auto& t : o.tmpfs)
        mounts.push_back(parse_tmpfs_flag(t));
    std::set<std::string> destinations;
    for (const auto& m : mounts) {
        if (!destinations.insert(m.destination).second)
            throw Error("duplicate mount point " + m.destination);
        if (m.type == "bind" && !path_exists(m.source) && !o.mounts.empty())
            for (const auto& flag : o.mounts)
                if (parse_mount_flag(flag).destination == m.destination)
                    throw Error("bind source path does not exist: " + m.source);
    }
    std::string network = o.network.empty() ? default_network(unprivileged) : o.network;
    std::string network_path;  // "" new namespace, "host", or a path
    std::string slirp4netns;   // its path, for the slirp4netns network
    if (network == kSlirp4netnsNetwork) {
        if (!unprivileged)
            throw Error(
                "network slirp4netns: only for rootless containers (root's are on bridge "
                "networks)");
        slirp4netns = find_program("slirp4netns", "network slirp4netns: slirp4netns",
                                   " (install the slirp4netns package)");
    } else if (network == "none") {
        if (!ports.empty() || o.publish_all)
            throw Error("cannot publish ports with --network none");
    } else if (network == "host") {
        network_path = "host";
        if (!ports.empty()) throw Error("cannot publish ports with --network host");
    } else if (network.starts_with("container:")) {
        find(network.substr(10));  // throws when it does not exist
        if (!ports.empty()) throw Error("cannot publish ports with --network container:");
    } else if (unprivileged) {
        // Before networks_.get, which would make "bridge" on first use.
        throw Error("network " + network +
                    ": rootless containers cannot use bridge networks (a bridge, veths and "
                    "iptables rules need root); use slirp4netns, none, host or container:NAME");
    } else {
        networks_.get(network);  // throws "network X not found"; makes "bridge" on first use
    }
    int64_t memory = o.memory.empty() ? 0 : parse_size(o.memory);
    double cpus = 0;
    if (!o.cpus.empty()) {
        char* end = nullptr;
        cpus = std::strtod(o.cpus.c_str(), &end);
        if (!end || *end != '\0' || !(cpus > 0)) throw Error("invalid --cpus \"" + o.cpus + "\"");
    }
    HealthCheck health;
    if (!o.health_cmd.empty() && o.health_cmd != "NONE") {
        health.command = {"/bin/sh", "-c", o.health_cmd};
        health.interval_ms = parse_duration_ms(o.health_interval);
        health.timeout_ms = parse_duration_ms(o.health_timeout);
        health.retries = std::max<int64_t>(1, o.health_retries);
    }
    std::vector<std::string> env;
    for (const auto& file : o.env_files)
        for (const auto& entry : read_env_file(file))
            add_env(env, entry);
    for (const auto& entry : o.env)
        add_env(env, entry);
    nlohmann::json labels = nlohmann::json::object();
    for (const auto& l : o.labels) {
        size_t eq = l.find('=');
        labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
    }
    if (unprivileged && (memory != 0 || cpus > 0 || o.pids_limit != 0))
        log::warn(
            "resource limits (--memory, --cpus, --pids-limit) are ignored for rootless "
            "containers on cgroup v1");
    if (!o.stop_signal.empty()) parse_signal(o.stop_signal);
    if (o.pull != "missing" && o.pull != "always" && o.pull != "never")
        throw Error("invalid --pull \"" + o.pull + "\": expected always, missing or never");
    std::string runtime = o.runtime.empty() ? helper_program("berth-runtime") : o.runtime;
    runtime = find_program(runtime, "runtime " + runtime, "");
    for (const auto& u : o.ulimits)
        parse_ulimit(u);

    // The image: found, or pulled when allowed.
    if (o.pull == "always" && pull_image) pull_image(o.image, o.platform);
    auto found = images_.try_find(o.image, settings_);
    if (!found && o.pull == "missing" && pull_image) {
        pull_image(o.image, o.platform);
        found = images_.try_find(o.image, settings_);
    }
    if (!found) throw image::ImageNotFound("no such image: " + o.image);
    image::Image img = images_.load(*found);
    // The image's HEALTHCHECK, unless --health-cmd says otherwise ("NONE" turns it off).
    if (o.health_cmd.empty() && img.config.config.healthcheck) {
        const oci::HealthConfig& h = *img.config.config.healthcheck;
        if (h.test.size() > 1 && (h.test[0] == "CMD" || h.test[0] == "CMD-SHELL")) {
            if (h.test[0] == "CMD")
                health.command.assign(h.test.begin() + 1, h.test.end());
            else
                health.command = {"/bin/sh", "-c", h.test[1]};
            if (h.interval > 0) health.interval_ms = h.interval / 1000000;
            if (h.timeout > 0) health.timeout_ms = h.timeout / 1000000;
            if (h.retries > 0) health.retries = h.retries;
        }
    }
    std::string stop_signal = !o.stop_signal.empty() ? o.stop_signal
                              : !img.config.config.stop_signal.empty()
                                  ? img.config.config.stop_signal
                                  : "SIGTERM";
    parse_signal(stop_signal);
    if (o.publish_all)
        for (const auto& exposed : img.config.config.exposed_ports) {
            size_t slash = exposed.find('/');
            auto port = parse_uint64(exposed.substr(0, slash));
            if (!port || *port == 0 || *port > 65535) continue;
            PortMapping p;
            p.container_port = static_cast<uint16_t>(*port);
            p.protocol = slash == std::string::npos ? "tcp" : exposed.substr(slash + 1);
            ports.push_back(p);
        }

    // --security-opt seccomp=record:FILE: checked before anything is made.
    std::string seccomp_record;
    for (const auto& opt : o.security_opts) {
        for (const char* prefix : {"seccomp=record:", "seccomp:record:"}) {
            if (!opt.starts_with(prefix)) continue;
            seccomp_record = opt.substr(std::string_view(prefix).size());
            if (seccomp_record.empty())
                throw Error("--security-opt " + opt + ": name the profile's file");
            if (!seccomp_record.starts_with('/'))
                seccomp_record = std::filesystem::absolute(seccomp_record).string();
            std::string parent = parent_path(seccomp_record);
            struct stat st {};
            if (::stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
                throw Error("--security-opt " + opt + ": directory " + parent + " does not exist");
            if (!base_name(runtime).starts_with("berth-runtime"))
                throw Error("--security-opt " + opt +
                            " needs berth-runtime (it hands the seccomp listener to the "
                            "monitor; runc and crun refuse SCMP_ACT_NOTIFY as the default)");
        }
    }

    // 2. The record: the name is claimed here, atomically.
    ContainerRecord record;
    record.id = random_hex(32);
    record.name = o.name.empty() ? generated_name(record.id) : o.name;
    record.image = o.image;
    record.image_id = img.record.id.str();
    record.created = rfc3339_now(false);
    std::string hostname = o.hostname.empty() ? record.id.substr(0, 12) : o.hostname;
    nlohmann::json ports_json = nlohmann::json::array();
    for (const auto& p : ports)
        ports_json.push_back(to_json(p));
    nlohmann::json& c = record.config;
    c = {{"tty", o.tty},
         {"interactive", o.interactive},
         {"autoremove", o.autoremove},
         {"hostname", hostname},
         {"user", o.user},
         {"workdir", o.workdir},
         {"labels", labels},
         {"ports", ports_json},
         {"network", network},
         {"slirp4netns", slirp4netns},
         {"aliases", o.network_aliases},
         {"restart", {{"name", restart.name}, {"max_retries", restart.max_retries}}},
         {"health",
          {{"command", health.command},
           {"interval_ms", health.interval_ms},
           {"timeout_ms", health.timeout_ms},
           {"retries", health.retries}}},
         {"stop_signal", stop_signal},
         {"stop_timeout", o.stop_timeout >= 0 ? o.stop_timeout : 10},
         {"runtime", runtime},
         {"memory", memory},
         {"nano_cpus", static_cast<int64_t>(cpus * 1e9)},
         {"pids_limit", o.pids_limit},
         {"read_only", o.read_only},
         {"privileged", o.privileged},
         {"init", o.init},
         {"seccomp_record", seccomp_record},
         {"attachments", nlohmann::json::object()}};
    db_.insert(record);

    std::string dir = paths_.container_dir(record.id);
    std::vector<std::string> made_volumes;
    image::RootfsMount rootfs;
    try {
        if (::mkdir(paths_.containers.c_str(), 0711) != 0 && errno != EEXIST)
            throw_errno("mkdir", paths_.containers);
        empty_trash(paths_.containers);
        if (::mkdir(dir.c_str(), 0700) != 0) throw_errno("mkdir", dir);
        if (::mkdir((dir + "/rootfs").c_str(), 0755) != 0) throw_errno("mkdir", dir + "/rootfs");
        rootfs = image::prepare_rootfs(images_, img, dir + "/rootfs", dir,
                                       image::RootfsMode::automatic, o.autoremove);
        UniqueFd rootfs_fd = open_file(dir + "/rootfs", O_PATH | O_DIRECTORY);

        // Volumes: the user's, then the image's VOLUMEs that nothing covers (anonymous).
        for (const auto& v : img.config.config.volumes) {
            std::string destination = clean_path("/" + v);
            if (destinations.count(destination)) continue;
            MountSpec anonymous;
            anonymous.type = "volume";
            anonymous.destination = destination;
            mounts.push_back(anonymous);
            destinations.insert(destination);
        }
        std::vector<ResolvedMount> resolved;
        nlohmann::json mounts_json = nlohmann::json::array();
        for (auto& m : mounts) {
            ResolvedMount r{m, m.source};
            bool anonymous = false;
            if (m.type == "volume") {
                anonymous = m.source.empty();
                if (anonymous) m.source = random_hex(32);
                bool existed = volumes_.get(m.source).has_value();
                volumes_.create(m.source, nlohmann::json::object(), anonymous);
                if (!existed) made_volumes.push_back(m.source);
                r.spec = m;
                r.host_path = volumes_.data_path(m.source);
                if (volumes_.is_empty(m.source)) {
                    UniqueFd inside =
                        try_open_in_root(rootfs_fd.get(), m.destination, O_PATH | O_DIRECTORY);
                    // cp runs in a child: our fd through our /proc entry, not /proc/self.
                    if (inside)
                        copy_tree("/proc/" + std::to_string(::getpid()) + "/fd/" +
                                      std::to_string(inside.get()),
                                  r.host_path);
                }
            } else if (m.type == "bind" && !path_exists(m.source)) {
                if (::mkdir(m.source.c_str(), 0755) != 0) throw_errno("bind source", m.source);
            }
            nlohmann::json j = to_json(r.spec);
            j["host_path"] = r.host_path;
            j["anonymous"] = anonymous;
            mounts_json.push_back(j);
            resolved.push_back(r);
        }
        c["mounts"] = mounts_json;

        write_hostname(dir + "/hostname", hostname);
        write_hosts(dir + "/hosts", {});
        write_resolv_conf(dir + "/resolv.conf", network == "host",
                          network == kSlirp4netnsNetwork ? kSlirp4netnsDns : "");
        if (network == "host") {
            auto host_hosts = read_file_if_exists("/etc/hosts");
            write_file(dir + "/hosts", host_hosts.value_or(""));
        }

        SpecInputs in;
        in.image = &img.config;
        in.rootfs_fd = rootfs_fd.get();
        in.options = &o;
        in.id = record.id;
        in.hostname = hostname;
        in.container_dir = dir;
        in.mounts = resolved;
        in.env = env;
        in.init_binary = helper_program("berth-monitor");
        if (!seccomp_record.empty()) in.seccomp_listener = paths_.seccomp_listener(record.id);
        // Rootless on cgroup v1 without delegation: no cgroup at all, as podman.
        in.rootless = unprivileged;
        if (!unprivileged) in.cgroups_path = "/berth/" + record.id;
        if (network == "host")
            in.network_namespace = "host";
        else if (network == "none")
            in.network_namespace = "";  // the runtime makes it, with loopback up
        else
            in.network_namespace = network.starts_with("container:")
                                       ? std::string("/proc/1/ns/net")  // replaced at start
                                       : paths_.netns_path(record.id);
        BuiltSpec built = build_container_spec(in);
        if (built.spec["process"].value("terminal", false) != o.tty)
            built.spec["process"]["terminal"] = o.tty;
        c["args"] = built.spec["process"]["args"];
        c["env"] = built.spec["process"]["env"];
        // Not fsynced: after a crash the container is gone with its runtime state anyway.
        write_file(dir + "/config.json.tmp", built.spec.dump());
        if (::rename((dir + "/config.json.tmp").c_str(), (dir + "/config.json").c_str()) != 0)
            throw_errno("rename", dir + "/config.json");
        rootfs.release();
        db_.update_config(record.id, c);
    } catch (...) {
        rootfs.unmount();
        ::umount2((dir + "/rootfs").c_str(), MNT_DETACH);
        try {
            remove_tree(dir);
        } catch (const Error&) {  // NOLINT(bugprone-empty-catch): the error in flight matters more
        }
        for (const auto& v : made_volumes)
            volumes_.remove(v);
        db_.remove(record.id);
        throw;
    }
    return record;
}

}  // namespace berth::engine
