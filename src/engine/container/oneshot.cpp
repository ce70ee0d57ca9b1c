// Engine::run_to_completion and the sandbox network of one-shot containers (oneshot.hpp).
#include "engine/container/oneshot.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/log.hpp"
#include "engine/container/spec.hpp"
#include "engine/engine.hpp"
#include "engine/network/etc_files.hpp"
#include "engine/network/netns.hpp"
#include "engine/rootless/namespace.hpp"
#include "engine/subprocess.hpp"

namespace berth::engine {
namespace {

// SIGKILLs the processes whose parent is parent: the runtime's child is the container's
// init, and its death ends every process of the container's pid namespace. (The runtime's
// own kill waits for the lock its foreground run holds to the end.)
void kill_children_of(pid_t parent) {
    UniqueFd proc(::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!proc) return;
    for (const auto& name : list_directory(proc.get(), "/proc")) {
        if (name.empty() || name[0] < '0' || name[0] > '9') continue;
        auto stat = read_file_if_exists("/proc/" + name + "/stat");
        if (!stat) continue;
        size_t close = stat->rfind(')');
        if (close == std::string::npos || close + 4 >= stat->size()) continue;
        // ") S PPID ...": the state, then the parent.
        long ppid = std::strtol(stat->c_str() + close + 4, nullptr, 10);
        if (ppid == parent) ::kill(static_cast<pid_t>(std::stol(name)), SIGKILL);
    }
}

}  // namespace

int Engine::run_to_completion(const OneShotOptions& o, const OneShotOutput& output,
                              const std::atomic<bool>* cancel) {
    if (!o.image) throw Error("one-shot container " + o.id + ": no image config");
    const bool unprivileged = rootless();
    CreateOptions create;
    create.command = o.args;
    create.entrypoint = std::vector<std::string>{};
    create.user = o.user;
    create.workdir = o.workdir;
    UniqueFd rootfs = open_file(o.rootfs, O_RDONLY | O_DIRECTORY);

    SpecInputs in;
    in.image = o.image;
    in.rootfs_fd = rootfs.get();
    in.options = &create;
    in.id = o.id;
    in.hostname = o.hostname;
    in.container_dir = o.bundle;
    for (const auto& m : o.mounts) {
        ResolvedMount r;
        r.spec.type = m.type;
        r.spec.source = m.source;
        r.spec.destination = m.destination;
        r.spec.readonly = m.readonly;
        r.spec.tmpfs_options = m.tmpfs_options;
        r.host_path = m.source;
        in.mounts.push_back(std::move(r));
    }
    in.network_namespace = o.network == "none" ? "" : o.network;
    in.cgroups_path = unprivileged ? "" : "/berth/" + o.id;
    in.rootless = unprivileged;
    in.env = o.env;
    BuiltSpec built = build_container_spec(in);
    built.spec["root"]["path"] = o.rootfs;
    // As BuildKit's RUN (executor/oci/user.go): the primary group is a supplementary one too.
    auto& user = built.spec["process"]["user"];
    auto gid = user.value("gid", uint32_t{0});
    auto gids = user.value("additionalGids", std::vector<uint32_t>{});
    if (std::find(gids.begin(), gids.end(), gid) == gids.end()) gids.insert(gids.begin(), gid);
    user["additionalGids"] = gids;

    write_hosts(o.bundle + "/hosts", {{"127.0.0.1", {o.hostname}}});
    write_resolv_conf(o.bundle + "/resolv.conf", o.network == "host");
    write_hostname(o.bundle + "/hostname", o.hostname);
    write_file(o.bundle + "/config.json", built.spec.dump());

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe");
    UniqueFd read_end(fds[0]), write_end(fds[1]);
    const std::string runtime = helper_program("berth-runtime");
    SubprocessOptions so;
    so.capture_stdout = false;
    so.capture_stderr = false;
    so.stdout_fd = write_end.get();
    so.stderr_fd = write_end.get();
    so.new_process_group = true;
    Subprocess process({runtime, "--root", paths_.runtime_state, "run", "--bundle", o.bundle, o.id},
                       so);
    write_end.reset();

    bool killed = false;
    char buffer[16384];
    for (;;) {
        // Again on every turn while canceled: a kill that found no child yet (the init not yet
        // reparented to the runtime) must not be the last try.
        if (cancel && cancel->load()) {
            killed = true;
            kill_children_of(process.pid());
        }
        pollfd pfd{read_end.get(), POLLIN, 0};
        int ready = ::poll(&pfd, 1, cancel ? 100 : -1);
        if (ready < 0) {
            if (errno == EINTR) continue;
            throw_errno("poll");
        }
        if (ready == 0) continue;
        ssize_t n = ::read(read_end.get(), buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (n == 0) break;
        if (output) output(std::string_view(buffer, static_cast<size_t>(n)));
    }
    SubprocessResult result = process.wait();
    if (killed) {
        // The runtime deletes what it made when its process ends; a second look costs little.
        run_subprocess({runtime, "--root", paths_.runtime_state, "delete", "--force", o.id});
    }
    return result.exit_code;
}

SandboxNetwork Engine::create_sandbox_network(const std::string& id) {
    SandboxNetwork s;
    s.id = id;
    if (rootless()) return s;  // the caller joins the pause namespace's (the host's) network
    s.network = networks_.get("bridge");
    s.netns = paths_.netns_path(id);
    create_netns(s.netns);
    try {
        s.attachment = networks_.attach(s.network, id, s.netns, "eth0", {});
    } catch (...) {
        remove_netns(s.netns);
        throw;
    }
    return s;
}

void Engine::remove_sandbox_network(const SandboxNetwork& s) {
    if (s.netns.empty()) return;
    std::string error = networks_.detach(s.network, s.id, s.netns, s.attachment);
    if (!error.empty()) log::warn("network of " + s.id + ": " + error);
    remove_netns(s.netns);
}

}  // namespace berth::engine
