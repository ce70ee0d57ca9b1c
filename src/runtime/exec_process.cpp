#include "runtime/exec_process.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <memory>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/json_reader.hpp"
#include "common/strings.hpp"
#include "runtime/capabilities.hpp"
#include "runtime/cgroup/manager.hpp"
#include "runtime/clone.hpp"
#include "runtime/exe_protection.hpp"
#include "runtime/foreground.hpp"
#include "runtime/lsm.hpp"
#include "runtime/process_attributes.hpp"
#include "runtime/seccomp/listener.hpp"
#include "runtime/seccomp/seccomp.hpp"
#include "runtime/sync_socket.hpp"
#include "runtime/terminal.hpp"
#include "runtime/validate.hpp"

namespace berth::runtime {
namespace {

oci::Process build_process(const ExecOptions& o, const oci::Spec& spec) {
    if (!o.process_file.empty()) {
        std::string text = o.process_file == "-"
                               ? read_fd_limited(STDIN_FILENO, "stdin", kMaxConfigSize)
                               : read_file_limited(o.process_file, kMaxConfigSize);
        try {
            return oci::parse_process(parse_json(text, o.process_file), "process");
        } catch (const InvalidDocument& e) {
            throw Error(o.process_file + ": " + e.what());
        }
    }
    if (o.args.empty()) throw Error("exec: a command to run is required");
    oci::Process p = spec.process.value_or(oci::Process{});
    p.args = o.args;
    p.terminal = o.tty;
    p.console_size.reset();
    for (const auto& e : o.env) {
        auto eq = e.find('=');
        if (eq == std::string::npos) throw Error("--env " + e + ": expected KEY=VALUE");
        env_set(p.env, e.substr(0, eq), e.substr(eq + 1));
    }
    if (!o.cwd.empty()) {
        if (o.cwd[0] != '/') throw Error("--cwd " + o.cwd + ": must be an absolute path");
        p.cwd = o.cwd;
    }
    p.user = oci::User{};
    if (!o.user.empty()) {
        auto parts = split(o.user, ':');
        auto uid = parse_uint64(parts[0]);
        auto gid = parts.size() > 1 ? parse_uint64(parts[1]) : std::optional<uint64_t>(0);
        if (!uid || !gid || parts.size() > 2 || *uid > UINT32_MAX || *gid > UINT32_MAX)
            throw Error("--user " + o.user + ": expected uid[:gid] as numbers");
        p.user.uid = static_cast<uint32_t>(*uid);
        p.user.gid = static_cast<uint32_t>(*gid);
    }
    p.user.additional_gids = o.additional_gids;
    if (!o.add_capabilities.empty()) {
        if (!p.capabilities) p.capabilities = oci::Capabilities{};
        for (const auto& cap : o.add_capabilities) {
            for (auto* set : {&p.capabilities->bounding, &p.capabilities->effective,
                              &p.capabilities->permitted, &p.capabilities->ambient}) {
                if (std::find(set->begin(), set->end(), cap) == set->end()) set->push_back(cap);
            }
        }
    }
    if (o.no_new_privileges) p.no_new_privileges = true;
    if (!o.apparmor_profile.empty()) p.apparmor_profile = o.apparmor_profile;
    if (!o.process_label.empty()) p.selinux_label = o.process_label;
    return p;
}

struct JoinedNamespace {
    oci::NamespaceType type;
    UniqueFd fd;
};

bool same_namespace(const std::string& a, const std::string& b) {
    struct stat sa {
    }, sb{};
    return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_ino == sb.st_ino &&
           sa.st_dev == sb.st_dev;
}

// The container's namespaces as its init has them, user namespace first.
std::vector<JoinedNamespace> container_namespaces(const oci::Spec& spec, pid_t init) {
    std::vector<JoinedNamespace> out;
    for (const auto& ns : spec.linux.namespaces) {
        std::string theirs =
            "/proc/" + std::to_string(init) + "/ns/" + oci::namespace_proc_name(ns.type);
        std::string ours = std::string("/proc/self/ns/") + oci::namespace_proc_name(ns.type);
        if (same_namespace(theirs, ours)) continue;
        JoinedNamespace j{ns.type, open_file(theirs, O_RDONLY)};
        if (ns.type == oci::NamespaceType::user)
            out.insert(out.begin(), std::move(j));
        else
            out.push_back(std::move(j));
    }
    return out;
}

struct ExecPlan {
    const oci::Process* process = nullptr;
    std::vector<JoinedNamespace>* namespaces = nullptr;
    const SyncSocket* sync = nullptr;
    int console_socket_fd = -1;
    int preserve_fds = 0;
    bool has_capabilities = false;
    CapabilitySets capabilities;
    std::function<void()> load_seccomp;
    std::function<int()> load_seccomp_listener;  // SCMP_ACT_NOTIFY: see container_init
    sigset_t original_mask{};
    // The container has its own user and pid namespaces: only a process inside the user
    // namespace may enter the pid namespace (unless we are root), so the child joins them all
    // and forks the process, as the launcher's intermediate does.
    bool intermediate = false;
};

// Every namespace in `namespaces` (user first), the mount namespace last: entering it changes
// our root and cwd. The pid namespace only when asked: it applies to children.
void join_container_namespaces(const std::vector<JoinedNamespace>& namespaces, bool with_pid) {
    for (int pass = 0; pass < 2; ++pass) {
        for (const auto& ns : namespaces) {
            bool mount = ns.type == oci::NamespaceType::mount;
            if ((ns.type == oci::NamespaceType::pid && !with_pid) || mount != (pass == 1)) continue;
            if (::setns(ns.fd.get(), oci::namespace_clone_flag(ns.type)) < 0)
                throw_errno(std::string("join the container's ") +
                            oci::namespace_type_name(ns.type) + " namespace");
        }
    }
}

void exec_child_main(const ExecPlan& p) {
    const oci::Process& process = *p.process;
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);  // see container_init: CVE-2019-5736
    if (p.intermediate) {
        join_container_namespaces(*p.namespaces, true);
        pid_t child = ::fork();
        if (child < 0) throw_errno("fork the process in the container");
        if (child > 0) {
            p.sync->send(SyncType::init_pid, child);
            _exit(0);
        }
        p.sync->expect(SyncType::setup_done, "joining the container");
    } else {
        p.sync->expect(SyncType::setup_done, "joining the container");
        join_container_namespaces(*p.namespaces, false);
    }
    if (::setsid() < 0) throw_errno("setsid");
    if (process.terminal) {
        Pty pty = open_pty();
        if (process.console_size)
            set_window_size(pty.master.get(), process.console_size->height,
                            process.console_size->width);
        send_fd(p.console_socket_fd, pty.master.get(), "/dev/ptmx");
        attach_terminal(pty.slave.get());
    }
    apply_rlimits(process.rlimits);
    if (process.io_priority) apply_io_priority(*process.io_priority);
    if (process.scheduler) apply_scheduler(*process.scheduler);
    std::vector<std::string> env = process.env;
    add_home_if_missing(env, process.user.uid);
    if (::chdir(process.cwd.c_str()) < 0) throw_errno("cwd: chdir", process.cwd);
    std::string executable = find_executable(process.args.front(), env);
    apply_apparmor_profile(process.apparmor_profile);
    for (int fd = 3; fd < 3 + p.preserve_fds; ++fd)
        ::fcntl(fd, F_SETFD, 0);
    if (::close_range(static_cast<unsigned>(3 + p.preserve_fds), ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        throw_errno("close_range");
    if (process.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        throw_errno("noNewPrivileges: prctl");
    if (p.load_seccomp_listener) {
        p.sync->send(SyncType::seccomp_listener, seccomp::next_descriptor());
        p.load_seccomp_listener();
    }
    assume_process_identity(process, p.has_capabilities ? &p.capabilities : nullptr,
                            p.load_seccomp);
    exec_process(process, executable, std::move(env), p.original_mask, p.load_seccomp);
}

}  // namespace

int exec_in_container(const StateRoot& root, const ExecOptions& o) {
    UniqueFd lock = root.lock(o.id, false);
    ContainerState state = root.load(o.id);
    oci::Status status = current_status(root, state);
    if (status == oci::Status::stopped)
        throw Error("cannot exec in a stopped container \"" + o.id + "\"");
    if (status == oci::Status::paused)
        throw Error("cannot exec in a paused container \"" + o.id + "\"");
    std::string config_path = root.config_path(o.id);
    oci::Spec spec = oci::parse_spec(parse_json(read_file(config_path), config_path));

    oci::Process process = build_process(o, spec);
    validate_lsm(process, "process");
    ExecPlan plan;
    plan.process = &process;
    if (process.capabilities) {
        plan.capabilities = resolve_capabilities(*process.capabilities, "process.capabilities");
        plan.has_capabilities = true;
    }
    if (needs_sealed_executable(plan.has_capabilities, plan.capabilities.bounding,
                                spec.linux.find_namespace(oci::NamespaceType::user) != nullptr)) {
        lock.reset();
        ensure_sealed_executable();
    }
    std::shared_ptr<seccomp::Filter> filter;
    if (spec.linux.seccomp) {
        filter = std::make_shared<seccomp::Filter>(
            seccomp::compile(*spec.linux.seccomp, root.seccomp_cache()));
        if (filter->has_listener())
            plan.load_seccomp_listener = [filter] { return filter->load(); };
        else
            plan.load_seccomp = [filter] { filter->load(); };
    }
    if (process.terminal && o.console_socket.empty() && o.detach)
        throw Error("--tty: a detached exec with a terminal needs --console-socket");

    std::vector<JoinedNamespace> namespaces = container_namespaces(spec, state.pid);
    plan.namespaces = &namespaces;
    std::unique_ptr<cgroup::Manager> cg;
    if (!state.cgroup.is_null()) cg = cgroup::Manager::from_json(state.cgroup);

    UniqueFd console, console_peer, master;
    if (process.terminal) {
        if (!o.console_socket.empty()) {
            console = connect_console_socket(o.console_socket);
        } else {
            int pair[2];
            if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
                throw_errno("socketpair");
            console_peer.reset(pair[0]);
            console.reset(pair[1]);
        }
    }
    plan.console_socket_fd = console.get();
    plan.preserve_fds = o.preserve_fds;

    auto joins = [&](oci::NamespaceType type) {
        return std::any_of(namespaces.begin(), namespaces.end(),
                           [type](const JoinedNamespace& ns) { return ns.type == type; });
    };
    plan.intermediate = joins(oci::NamespaceType::user) && joins(oci::NamespaceType::pid);
    if (!plan.intermediate) {
        // A pid namespace applies to children only: enter it here so the child is born inside.
        for (const auto& ns : namespaces) {
            if (ns.type == oci::NamespaceType::pid && ::setns(ns.fd.get(), CLONE_NEWPID) < 0)
                throw_errno("join the container's pid namespace");
        }
    } else if (!o.detach && ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
        // The process is our grandchild: be the one it is reparented to, to wait for it.
        throw_errno("prctl(PR_SET_CHILD_SUBREAPER)");
    }
    auto [parent_sync, child_sync] = SyncSocket::make_pair();
    plan.sync = &child_sync;
    plan.original_mask = block_all_signals();
    pid_t child;
    if (cg) {
        child = clone_into_cgroups(*cg, 0);
    } else {
        child = ::fork();
        if (child < 0) throw_errno("fork");
    }
    if (child == 0) {
        parent_sync.close();
        console_peer.reset();
        try {
            exec_child_main(plan);
        } catch (const std::exception& e) {
            child_sync.send_error(e.what());
        }
        _exit(127);
    }
    child_sync.close();
    try {
        if (plan.intermediate) {
            pid_t process_pid = static_cast<pid_t>(
                parent_sync.expect(SyncType::init_pid, "joining the container").value);
            while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
            }
            child = process_pid;
        }
        if (process.oom_score_adj)
            write_existing_file("/proc/" + std::to_string(child) + "/oom_score_adj",
                                std::to_string(*process.oom_score_adj));
        parent_sync.send(SyncType::setup_done);
        bool eof = false;
        // EOF once exec'd; an error is thrown
        for (SyncMessage m = parent_sync.receive(&eof);
             !eof && m.type == SyncType::seccomp_listener; m = parent_sync.receive(&eof))
            seccomp::forward_listener(
                child, static_cast<int>(m.value), *spec.linux.seccomp,
                {o.id, oci::Status::running, child, state.bundle, spec.annotations});
        if (!o.pid_file.empty()) replace_file(o.pid_file, std::to_string(child), 0644);
    } catch (...) {
        // child is the intermediate until it has told us the process's pid. A grandchild is
        // ours to reap only as its subreaper (foreground); otherwise waitpid says ECHILD.
        ::kill(child, SIGKILL);
        while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
        }
        throw;
    }
    if (o.detach) return 0;
    if (console_peer) master = receive_fd(console_peer.get());
    lock.reset();
    return wait_in_foreground(child, master.get());
}

}  // namespace berth::runtime
