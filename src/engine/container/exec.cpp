// Looking into a running container: exec (the runtime's exec in the foreground), top,
// stats (from its cgroups), port, cp.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/path.hpp"
#include "common/strings.hpp"
#include "engine/engine.hpp"
#include "engine/monitor/monitor.hpp"
#include "engine/rootless/namespace.hpp"
#include "engine/subprocess.hpp"
#include "image/runtime_config.hpp"

namespace berth::engine {
namespace {

std::string cgroup_file(const std::string& controller, const std::string& id,
                        const std::string& file) {
    return read_file_if_exists("/sys/fs/cgroup/" + controller + "/berth/" + id + "/container/" +
                               file)
        .value_or("");
}

int64_t number(const std::string& text) {
    return parse_int64(std::string(trim(text))).value_or(0);
}

}  // namespace

int Engine::exec(const std::string& name_or_id, const ExecOptions& o) {
    ContainerRecord r = find(name_or_id);
    if (r.state.status != Status::running) throw Error("container " + r.name + " is not running");
    if (o.command.empty()) throw Error("exec: no command given");
    // The runtime's own errors also go to a log of this exec, where they are told apart from
    // the command's exit code: a command that cannot be run is 126/127, as docker's.
    std::string log_path =
        paths_.container_dir(r.id) + "/exec-" + std::to_string(::getpid()) + ".log";
    std::vector<std::string> argv = {runtime_for(r), "--root", paths_.runtime_state,
                                     "--log",        log_path, "exec"};
    if (o.tty) argv.emplace_back("--tty");
    if (o.detach) argv.emplace_back("--detach");
    for (const auto& e : o.env) {
        argv.emplace_back("--env");
        argv.push_back(e.find('=') == std::string::npos && std::getenv(e.c_str())
                           ? e + "=" + std::getenv(e.c_str())
                           : e);
    }
    std::string user = o.user.empty() ? r.config.value("user", "") : o.user;
    if (!user.empty()) {
        UniqueFd rootfs = open_file(paths_.container_dir(r.id) + "/rootfs", O_PATH | O_DIRECTORY);
        image::ResolvedUser resolved = image::resolve_user(user, rootfs.get());
        argv.emplace_back("--user");
        argv.push_back(std::to_string(resolved.uid) + ":" + std::to_string(resolved.gid));
    }
    if (!o.workdir.empty()) {
        argv.emplace_back("--cwd");
        argv.push_back(o.workdir);
    }
    argv.push_back(r.id);
    argv.insert(argv.end(), o.command.begin(), o.command.end());
    std::vector<char*> c_argv = c_string_array(argv);
    // Stdin stays ours only with -i (docker's habit): otherwise /dev/null.
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
        if (!o.interactive && !o.tty) {
            int devnull = ::open("/dev/null", O_RDONLY);
            ::dup2(devnull, 0);
        }
        ::execv(c_argv[0], c_argv.data());
        ::_exit(127);
    }
    // The runtime forwards signals to the process; this one waits.
    ::signal(SIGINT, SIG_IGN);
    ::signal(SIGTERM, SIG_IGN);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    int code = decode_wait_status(status);
    std::string message = last_runtime_error(log_path);
    ::unlink(log_path.c_str());
    // The runtime printed its one line already.
    if (!message.empty()) return classify_start_error(message);
    return code;
}

std::string Engine::top(const std::string& name_or_id) {
    ContainerRecord r = find(name_or_id);
    if (r.state.status != Status::running && r.state.status != Status::paused)
        throw Error("container " + r.name + " is not running");
    std::string procs = cgroup_file("pids", r.id, "cgroup.procs");
    if (procs.empty()) procs = cgroup_file("memory", r.id, "cgroup.procs");
    if (procs.empty() && rootless()) {
        // No cgroup: the runtime finds the processes through the container's pid namespace.
        SubprocessResult listed = run_subprocess(
            {runtime_for(r), "--root", paths_.runtime_state, "ps", "--format", "json", r.id});
        auto pids = nlohmann::json::parse(listed.out, nullptr, false);
        if (pids.is_array())
            for (const auto& pid : pids)
                if (pid.is_number_integer()) procs += std::to_string(pid.get<int64_t>()) + "\n";
    }
    std::string out = "PID\tPPID\tCMD\n";
    for (const auto& pid : split(procs, '\n')) {
        if (pid.empty()) continue;
        auto cmdline = read_file_if_exists("/proc/" + pid + "/cmdline").value_or("");
        std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
        auto stat = read_file_if_exists("/proc/" + pid + "/stat").value_or("");
        std::string ppid;
        size_t close = stat.rfind(')');
        if (close != std::string::npos) {
            auto fields = split(stat.substr(close + 2), ' ');
            if (fields.size() > 1) ppid = fields[1];
        }
        out += pid + "\t" + ppid + "\t" + std::string(trim(cmdline)) + "\n";
    }
    return out;
}

nlohmann::json Engine::stats(const std::string& name_or_id) {
    ContainerRecord r = find(name_or_id);
    int64_t usage = number(cgroup_file("memory", r.id, "memory.usage_in_bytes"));
    int64_t limit = number(cgroup_file("memory", r.id, "memory.limit_in_bytes"));
    int64_t cpu_ns = number(cgroup_file("cpuacct", r.id, "cpuacct.usage"));
    if (cpu_ns == 0) cpu_ns = number(cgroup_file("cpu,cpuacct", r.id, "cpuacct.usage"));
    int64_t pids = number(cgroup_file("pids", r.id, "pids.current"));
    return {{"id", r.id},
            {"name", r.name},
            {"memory_usage", usage},
            {"memory_limit", limit},
            {"cpu_total_ns", cpu_ns},
            {"pids", pids}};
}

std::vector<std::string> Engine::ports(const std::string& name_or_id) {
    ContainerRecord r = find(name_or_id);
    std::vector<std::string> out;
    const nlohmann::json attachments = r.config.value("attachments", nlohmann::json::object());
    for (const auto& [_, a] : attachments.items())
        for (const auto& p : a.value("ports", nlohmann::json::array())) {
            std::string host_ip = p.value("host_ip", "");
            out.push_back(std::to_string(p.value("container_port", 0)) + "/" +
                          p.value("protocol", "tcp") + " -> " +
                          (host_ip.empty() ? "0.0.0.0" : host_ip) + ":" +
                          std::to_string(p.value("host_port", 0)));
        }
    return out;
}

// Paths in the container resolve inside its rootfs (symlinks cannot lead out of it).
void Engine::copy(const std::string& from, const std::string& to) {
    auto split_spec = [&](const std::string& spec) -> std::pair<std::string, std::string> {
        size_t colon = spec.find(':');
        if (colon == std::string::npos || spec.starts_with("/") || spec.starts_with("."))
            return {"", spec};
        return {spec.substr(0, colon), spec.substr(colon + 1)};
    };
    auto [from_container, from_path] = split_spec(from);
    auto [to_container, to_path] = split_spec(to);
    if (from_container.empty() == to_container.empty())
        throw Error("cp: exactly one side must be CONTAINER:PATH");
    std::string container = from_container.empty() ? to_container : from_container;
    ContainerRecord r = find(container);
    UniqueFd rootfs = open_file(paths_.container_dir(r.id) + "/rootfs", O_PATH | O_DIRECTORY);
    std::string inside = from_container.empty() ? to_path : from_path;
    std::string parent = parent_path(clean_path("/" + inside));
    std::string base = base_name(clean_path("/" + inside));
    UniqueFd dir = open_in_root(rootfs.get(), parent, O_PATH | O_DIRECTORY);
    // cp runs in a child: our fd through our /proc entry, not /proc/self.
    std::string resolved = "/proc/" + std::to_string(::getpid()) + "/fd/" +
                           std::to_string(dir.get()) +
                           (base.empty() || base == "/" ? "" : "/" + base);
    std::vector<std::string> argv = {"cp", "-a", "--"};
    if (from_container.empty()) {
        argv.push_back(from_path);
        argv.push_back(resolved);
    } else {
        argv.push_back(resolved);
        argv.push_back(to_path);
    }
    SubprocessResult res = run_subprocess(argv);
    if (res.exit_code != 0) throw Error("cp: " + std::string(trim(res.err)));
}

}  // namespace berth::engine
