#include "image/runtime_config.hpp"

#include <fcntl.h>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/path.hpp"
#include "common/strings.hpp"
#include "oci/default_spec.hpp"

namespace berth::image {
namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string read_in_root(int rootfs_fd, const std::string& path) {
    if (rootfs_fd < 0) return {};
    UniqueFd fd = try_open_in_root(rootfs_fd, path, O_RDONLY);
    if (!fd) return {};
    return read_fd(fd.get(), path);
}

// Lines of a colon-separated database (/etc/passwd, /etc/group), split into fields.
std::vector<std::vector<std::string>> records(const std::string& text) {
    std::vector<std::vector<std::string>> out;
    for (const auto& line : split(text, '\n')) {
        if (line.empty() || line[0] == '#') continue;
        out.push_back(split(line, ':'));
    }
    return out;
}

std::optional<uint32_t> parse_id(const std::string& text) {
    auto v = parse_uint64(text);
    if (!v || *v > 0xffffffffULL) return std::nullopt;
    return static_cast<uint32_t>(*v);
}

}  // namespace

ResolvedUser resolve_user(const std::string& user_spec, int rootfs_fd) {
    ResolvedUser out;
    std::string user = user_spec.empty() ? "0" : user_spec;
    std::string group;
    if (size_t colon = user.find(':'); colon != std::string::npos) {
        group = user.substr(colon + 1);
        user = user.substr(0, colon);
    }
    auto passwd = records(read_in_root(rootfs_fd, "/etc/passwd"));
    std::string user_name;
    bool found = false;
    auto numeric_uid = parse_id(user);
    for (const auto& r : passwd) {
        if (r.size() < 7) continue;
        bool match = numeric_uid ? parse_id(r[2]) == numeric_uid : r[0] == user;
        if (!match) continue;
        auto uid = parse_id(r[2]);
        auto gid = parse_id(r[3]);
        if (!uid || !gid) continue;
        out.uid = *uid;
        out.gid = *gid;
        out.home = r[5];
        user_name = r[0];
        found = true;
        break;
    }
    if (!found) {
        if (!numeric_uid) throw Error("user \"" + user + "\" is not in the image's /etc/passwd");
        out.uid = *numeric_uid;
        out.gid = 0;
    }
    auto groups = records(read_in_root(rootfs_fd, "/etc/group"));
    if (!group.empty()) {
        auto numeric_gid = parse_id(group);
        bool group_found = false;
        for (const auto& r : groups) {
            if (r.size() < 3) continue;
            if (numeric_gid ? parse_id(r[2]) == numeric_gid : r[0] == group) {
                if (auto gid = parse_id(r[2])) {
                    out.gid = *gid;
                    group_found = true;
                    break;
                }
            }
        }
        if (!group_found) {
            if (!numeric_gid)
                throw Error("group \"" + group + "\" is not in the image's /etc/group");
            out.gid = *numeric_gid;
        }
    } else if (!user_name.empty()) {
        // Supplementary groups: every group that lists the user.
        for (const auto& r : groups) {
            if (r.size() < 4) continue;
            auto gid = parse_id(r[2]);
            if (!gid || *gid == out.gid) continue;
            for (const auto& member : split(r[3], ','))
                if (member == user_name) out.additional_gids.push_back(*gid);
        }
    }
    return out;
}

RuntimeConfig make_runtime_config(const oci::ImageConfig& image, int rootfs_fd,
                                  const RuntimeConfigOptions& options) {
    const oci::ContainerConfig& c = image.config;
    std::vector<std::string> args = options.entrypoint ? *options.entrypoint : c.entrypoint;
    const std::vector<std::string>& cmd = options.command.empty() ? c.cmd : options.command;
    args.insert(args.end(), cmd.begin(), cmd.end());
    if (args.empty()) args = options.default_command;
    if (args.empty()) throw Error("the image has no Entrypoint or Cmd, and no command was given");

    std::vector<std::string> env = c.env;
    for (const auto& kv : options.env) {
        size_t eq = kv.find('=');
        if (eq == std::string::npos || eq == 0)
            throw Error("environment variable \"" + kv + "\": expected KEY=VALUE");
        env_set(env, kv.substr(0, eq), kv.substr(eq + 1));
    }
    if (!env_lookup(env, "PATH")) env.insert(env.begin(), std::string("PATH=") + kDefaultPath);

    ResolvedUser user = resolve_user(options.user.empty() ? c.user : options.user, rootfs_fd);
    if (!env_lookup(env, "HOME")) env_set(env, "HOME", user.home.empty() ? "/" : user.home);
    if (options.terminal && !env_lookup(env, "TERM")) env_set(env, "TERM", "xterm");

    RuntimeConfig out;
    nlohmann::ordered_json& spec = out.spec;
    spec = oci::default_spec({});
    auto& process = spec["process"];
    process["terminal"] = options.terminal;
    process["user"] = {{"uid", user.uid}, {"gid", user.gid}};
    if (!user.additional_gids.empty()) process["user"]["additionalGids"] = user.additional_gids;
    process["args"] = args;
    process["env"] = env;
    std::string cwd = options.workdir.empty() ? c.working_dir : options.workdir;
    process["cwd"] = cwd.empty() ? "/" : clean_path("/" + cwd);
    spec["root"] = {{"path", options.rootfs}, {"readonly", options.readonly_rootfs}};
    if (!options.hostname.empty()) spec["hostname"] = options.hostname;

    nlohmann::ordered_json annotations = nlohmann::ordered_json::object();
    annotations["org.opencontainers.image.os"] = image.os;
    annotations["org.opencontainers.image.architecture"] = image.architecture;
    if (!image.variant.empty()) annotations["org.opencontainers.image.variant"] = image.variant;
    if (!image.author.empty()) annotations["org.opencontainers.image.author"] = image.author;
    if (!image.created.empty()) annotations["org.opencontainers.image.created"] = image.created;
    if (!c.stop_signal.empty()) annotations["org.opencontainers.image.stopSignal"] = c.stop_signal;
    if (!c.exposed_ports.empty())
        annotations["org.opencontainers.image.exposedPorts"] = join(c.exposed_ports, ",");
    for (const auto& [key, value] : c.labels)
        if (!annotations.contains(key)) annotations[key] = value;
    spec["annotations"] = annotations;
    out.volumes = c.volumes;
    return out;
}

}  // namespace berth::image
