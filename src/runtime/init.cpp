#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/path.hpp"
#include "common/strings.hpp"
#include "runtime/exec_outcome.hpp"
#include "runtime/hooks.hpp"
#include "runtime/init_plan.hpp"
#include "runtime/lsm.hpp"
#include "runtime/parent_death.hpp"
#include "runtime/process_attributes.hpp"
#include "runtime/rootfs.hpp"
#include "runtime/seccomp/listener.hpp"
#include "runtime/start_socket.hpp"
#include "runtime/terminal.hpp"

namespace berth::runtime {
namespace {

// True until the init has told the runtime it is ready: after that, in create mode, no one
// reads the sync socket any more.
bool g_runtime_listening = true;

// A socket whose other end only our parent holds: the runtime's end of the sync socket, or
// (after an intermediate child forked us) the intermediate's end of a pair of our own. Its
// hang-up tells that the parent died before our parent-death signal was armed.
int g_parent_peer = -1;
UniqueFd g_intermediate_link;  // our end of that pair; closed once we outlive the runtime

// Whether the failure happened in the exec itself (for the exit status, see exec_outcome.hpp).
bool g_failed_at_exec = false;

oci::State hook_state(const InitPlan& p, pid_t host_pid) {
    return {p.id, oci::Status::creating, host_pid, p.bundle, p.spec->annotations};
}

void write_sysctls(const std::map<std::string, std::string>& sysctl) {
    for (const auto& [key, value] : sysctl) {
        std::string path = "/proc/sys/" + key;
        for (size_t i = 10; i < path.size(); ++i)
            if (path[i] == '.') path[i] = '/';
        try {
            write_existing_file(path, value);
        } catch (const std::exception& e) {
            throw Error("linux.sysctl." + key + ": " + e.what());
        }
    }
}

// fds 3 .. 3+preserve-1 pass into the container; every other fd closes at exec.
void prepare_inherited_fds(int preserve) {
    for (int fd = 3; fd < 3 + preserve; ++fd) {
        int flags = ::fcntl(fd, F_GETFD);
        if (flags < 0) throw_errno("preserve fd " + std::to_string(fd));
        ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
    }
    if (::close_range(static_cast<unsigned>(3 + preserve), ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        throw_errno("close_range");
}

// After `start` connected: where an error before the exec is reported (create mode).
int g_start_connection = -1;

// Waits for `start`: the parent's message (run) or a connection on the start socket
// (create). Returns the init's host pid, which `start` sends so that hooks can be told.
pid_t wait_for_start(const InitPlan& p, UniqueFd& connection) {
    if (p.foreground) return static_cast<pid_t>(p.sync->expect(SyncType::start, "starting").value);
    StartRequest request = wait_for_start_request(p.start_listen_fd);
    connection = std::move(request.connection);
    g_start_connection = connection.get();
    return request.host_pid;
}

// A runtime called in its caller's process is given the container's stdio (the program
// is started with it). The given fds are close-on-exec; their copies on 0-2 are not.
void take_stdio(const std::array<int, 3>& stdio) {
    for (int target = 0; target < 3; ++target) {
        int fd = stdio[static_cast<size_t>(target)];
        if (fd < 0) continue;
        if (fd == target ? ::fcntl(fd, F_SETFD, 0) < 0 : ::dup2(fd, target) < 0)
            throw_errno("stdio of the container process");
    }
}

void init_main(const InitPlan& p) {
    const oci::Spec& spec = *p.spec;
    const oci::Process& process = *p.process;
    take_stdio(p.stdio);

    // CVE-2019-5736: until we exec, /proc/PID/exe is the runtime binary; a non-dumpable
    // process's /proc entries are out of reach of anything in the container. Rootless, the
    // runtime writes our id maps (and oom_score_adj) as our owner, which needs us dumpable
    // until then (as runc's nsexec does); nothing runs in the container yet.
    if (!p.rootless) ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    ::umask(0);
    if (!p.child_joins_cgroups) {
        p.sync->expect(SyncType::setup_done, "setting up the container");
        ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
    // Joined once, before anything needs the container's cgroups: a cgroup mount, a cgroup
    // namespace, the user's process.
    bool in_cgroups = false;
    auto join_cgroups = [&] {
        if (in_cgroups) return;
        in_cgroups = true;
        if (p.child_joins_cgroups) {
            p.sync->expect(SyncType::setup_done, "creating the container's cgroups");
            p.cgroups->join_v1_self();
        }
        if (p.new_cgroup_namespace && ::unshare(CLONE_NEWCGROUP) < 0)
            throw_errno("unshare cgroup namespace");
    };

    if (p.intermediate) {
        join_namespaces(*p.joins);
        if (p.unshare_flags && ::unshare(p.unshare_flags) < 0) throw_errno("unshare namespaces");
        if (p.unshare_flags & CLONE_NEWUSER) {
            if (p.rootless) ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
            p.sync->send(SyncType::map_ids, ::getpid());
            p.sync->expect(SyncType::setup_done, "mapping user ids");
            ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        }
        write_time_offsets(spec.linux);
        // The init dies with us, and we die with the runtime, until the init no longer needs
        // to (it closes its end of the link, and we exit).
        int link[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, link) < 0)
            throw_errno("socketpair");
        pid_t child = ::fork();
        if (child < 0) throw_errno("fork the container init");
        if (child > 0) {
            ::close(link[1]);
            p.sync->send(SyncType::init_pid, child);
            char byte = 0;
            while (::read(link[0], &byte, 1) < 0 && errno == EINTR) {
            }
            _exit(0);
        }
        ::close(link[0]);
        g_intermediate_link.reset(link[1]);
        g_parent_peer = link[1];
        die_with_parent(g_parent_peer);
    } else {
        join_namespaces(*p.joins);
        if (p.unshare_flags && ::unshare(p.unshare_flags) < 0) throw_errno("unshare namespaces");
    }

    if (p.loopback_up) bring_loopback_up();
    if (p.user_namespace) {
        if (::setresgid(0, 0, 0) < 0) throw_errno("become root (gid 0) in the user namespace");
        if (::setresuid(0, 0, 0) < 0) throw_errno("become root (uid 0) in the user namespace");
        die_with_parent(g_parent_peer);  // a change of credentials clears the signal
    }
    if (!p.child_joins_cgroups) join_cgroups();
    if (::setsid() < 0) throw_errno("setsid");

    pid_t host_pid = 0;
    auto run_create_hooks = [&] {
        bool ask_parent = p.has_create_runtime_hooks || !spec.hooks.create_container.empty();
        if (ask_parent) {
            p.sync->send(SyncType::run_hooks);
            host_pid =
                static_cast<pid_t>(p.sync->expect(SyncType::hooks_done, "running hooks").value);
        }
        run_hooks(spec.hooks.create_container, hook_state(p, host_pid), "createContainer");
    };

    if (p.new_mount_namespace) {
        RootfsContext ctx;
        ctx.spec = &spec;
        ctx.rootfs = p.rootfs;
        ctx.bundle = p.bundle;
        ctx.user_namespace = p.user_namespace;
        ctx.new_cgroup_namespace = p.new_cgroup_namespace;
        ctx.new_network_namespace = p.new_network_namespace;
        ctx.no_pivot = p.no_pivot;
        ctx.cgroup_mode = p.cgroup_mode;
        ctx.cgroup_placements = p.cgroup_placements;
        ctx.cwd = process.cwd;
        ctx.before_cgroups = join_cgroups;
        ctx.before_pivot = [&] {
            join_cgroups();
            run_create_hooks();
        };
        prepare_rootfs(ctx);
    } else {
        join_cgroups();
        run_create_hooks();
        if (::chdir("/") < 0) throw_errno("chdir /");
    }

    if (!spec.hostname.empty() && ::sethostname(spec.hostname.data(), spec.hostname.size()) < 0)
        throw_errno("hostname: sethostname", spec.hostname);
    if (!spec.domainname.empty() &&
        ::setdomainname(spec.domainname.data(), spec.domainname.size()) < 0)
        throw_errno("domainname: setdomainname", spec.domainname);
    write_sysctls(spec.linux.sysctl);
    if (p.new_mount_namespace) finalize_rootfs(spec);

    apply_apparmor_profile(process.apparmor_profile);

    if (process.terminal) {
        Pty pty = open_pty();
        if (process.console_size)
            set_window_size(pty.master.get(), process.console_size->height,
                            process.console_size->width);
        send_fd(p.console_socket_fd, pty.master.get(), "/dev/ptmx");
        attach_terminal(pty.slave.get());
    }
    if (!p.no_new_keyring) join_session_keyring(p.id);
    apply_rlimits(process.rlimits);
    if (spec.linux.personality) apply_personality(*spec.linux.personality);
    if (process.io_priority) apply_io_priority(*process.io_priority);
    if (process.scheduler) apply_scheduler(*process.scheduler);

    std::vector<std::string> env = p.env;
    add_home_if_missing(env, process.user.uid);
    std::string executable = find_executable(process.args.front(), env);
    prepare_inherited_fds(p.preserve_fds);
    if (process.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        throw_errno("process.noNewPrivileges: prctl");

    // Checked before `ready`, so that `create` (not `start`) says what is wrong.
    if (p.has_capabilities) check_capabilities_held(p.capabilities);
    // From here the container may outlive the runtime: a runtime that dies before it has
    // recorded the state is noticed below (create) or in wait_for_start (run).
    outlive_parent();
    g_intermediate_link.reset();
    if (p.load_seccomp_listener) {
        // A notifying filter goes in now, while the runtime listens: it takes the listener
        // (which every later system call of ours waits on) and hands it on. The filter so
        // also sees the rest of our set-up, which a profile must allow anyway when it is
        // installed before the identity switch (no noNewPrivileges).
        p.sync->send(SyncType::seccomp_listener, seccomp::next_descriptor());
        p.load_seccomp_listener();
    }
    p.sync->send(SyncType::ready);
    g_runtime_listening = p.foreground;
    if (!p.foreground) {
        bool eof = false;
        SyncMessage recorded = p.sync->receive(&eof);
        if (eof || recorded.type != SyncType::recorded) _exit(127);  // nobody can find us
    }

    assume_process_identity(process, p.has_capabilities ? &p.capabilities : nullptr,
                            p.load_seccomp);

    UniqueFd start_connection;  // closes at exec: that tells `start` the process runs
    host_pid = wait_for_start(p, start_connection);
    oci::State state = hook_state(p, host_pid);
    state.status = oci::Status::created;
    run_hooks(spec.hooks.start_container, state, "startContainer");

    g_failed_at_exec = true;  // only a failed exec returns from here
    exec_process(process, executable, std::move(env), p.original_signal_mask, p.load_seccomp);
}

}  // namespace

void container_init(const InitPlan& plan) {
    // Named until the exec renames it: the runtime tells a failed exec from a process that
    // exec'd and exited at once by it (exec_outcome.hpp). Then, before any long step: dying
    // with the runtime.
    ::prctl(PR_SET_NAME, kInitName, 0, 0, 0);
    g_parent_peer = plan.sync->fd();
    die_with_parent(g_parent_peer);
    try {
        init_main(plan);
    } catch (const std::exception& e) {
        // Before `ready` the runtime is listening; after it (create mode) nobody is, so the
        // container's stderr is the only place left to say why.
        bool reported = false;
        if (g_runtime_listening) {
            reported = plan.sync->send_error(e.what());
        } else if (g_start_connection >= 0) {
            std::string message = e.what();
            reported = ::write(g_start_connection, message.data(), message.size()) > 0;
        } else {
            reported = dprintf(2, "berth-runtime: %s\n", e.what()) > 0;
        }
        // A seccomp filter may deny even that: the exit status carries the errno.
        const auto* system_error = dynamic_cast<const SystemError*>(&e);
        if (!reported && system_error)
            _exit(unreported_failure_status(system_error->code(), g_failed_at_exec));
    }
    _exit(127);
}

}  // namespace berth::runtime
