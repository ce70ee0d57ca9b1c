#include "runtime/launcher.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/json_reader.hpp"
#include "common/log.hpp"
#include "common/path.hpp"
#include "common/strings.hpp"
#include "common/time.hpp"
#include "runtime/capabilities.hpp"
#include "runtime/cgroup/manager.hpp"
#include "runtime/clone.hpp"
#include "runtime/devices.hpp"
#include "runtime/exe_protection.hpp"
#include "runtime/exec_outcome.hpp"
#include "runtime/foreground.hpp"
#include "runtime/hooks.hpp"
#include "runtime/init_plan.hpp"
#include "runtime/namespaces.hpp"
#include "runtime/seccomp/listener.hpp"
#include "runtime/seccomp/seccomp.hpp"
#include "runtime/start_socket.hpp"
#include "runtime/terminal.hpp"
#include "runtime/validate.hpp"
#include "runtime/verbs/verbs.hpp"

namespace berth::runtime {
namespace {

// Undo steps run in reverse unless the whole operation succeeded.
class Rollback {
  public:
    Rollback() = default;
    Rollback(const Rollback&) = delete;
    Rollback& operator=(const Rollback&) = delete;
    ~Rollback() {
        for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
            try {
                (*it)();
            } catch (const std::exception& e) {
                log::warn(std::string("cleanup after a failed create: ") + e.what());
            }
        }
    }
    void add(std::function<void()> step) { steps_.push_back(std::move(step)); }
    void commit() { steps_.clear(); }

  private:
    std::vector<std::function<void()>> steps_;
};

// Whether clone(2) cannot make the init directly: a joined pid or time namespace (they apply
// to children only), a new time namespace (offsets are written before any member exists), a
// joined user namespace that the new ones must belong to, or a new user namespace that must
// come after joining others.
bool needs_intermediate(const oci::Linux& linux, const std::vector<NamespaceToJoin>& joins) {
    auto joined = [&](oci::NamespaceType t) {
        const oci::Namespace* ns = linux.find_namespace(t);
        return ns && !ns->path.empty();
    };
    const int new_flags = new_namespace_flags(linux) & ~CLONE_NEWCGROUP;
    return joined(oci::NamespaceType::pid) || joined(oci::NamespaceType::time) ||
           linux.has_new_namespace(oci::NamespaceType::time) ||
           (joined(oci::NamespaceType::user) && (new_flags & ~CLONE_NEWUSER)) ||
           (linux.has_new_namespace(oci::NamespaceType::user) && !joins.empty());
}

void reap(pid_t pid) {
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
}

std::vector<std::string> process_env(const oci::Process& process, int listen_fds) {
    std::vector<std::string> env = process.env;
    if (listen_fds > 0) {
        env_set(env, "LISTEN_FDS", std::to_string(listen_fds));
        env_set(env, "LISTEN_PID", "1");
    }
    return env;
}

// systemd socket activation: fds 3.. passed to us are passed on (runc does the same).
int listen_fds_for_us() {
    const char* fds = std::getenv("LISTEN_FDS");
    if (!fds) return 0;
    const char* pid = std::getenv("LISTEN_PID");
    if (pid && parse_int64(pid) != ::getpid()) return 0;
    return static_cast<int>(parse_uint64(fds).value_or(0));
}

class Launch {
  public:
    Launch(const StateRoot& root, const CreateOptions& options, bool foreground)
        : root_(root), options_(options), foreground_(foreground) {}
    Launch(const Launch&) = delete;
    Launch& operator=(const Launch&) = delete;
    // The runtime program exits with every signal blocked; a caller goes on with its mask.
    ~Launch() {
        if (signals_blocked_ && options_.in_caller_process)
            ::sigprocmask(SIG_SETMASK, &original_mask_, nullptr);
    }

    // Everything up to "created". Throws after rolling back.
    void create();
    // run: start the process; returns once it has exec'd.
    void start();
    // run --detach, after create: the start verb's work, with the lock, state and config
    // this object holds (not read again). Removes the container when the start fails.
    void start_detached();
    int wait_and_remove();
    void commit() { rollback_.commit(); }

    [[nodiscard]] pid_t init_pid() const { return init_pid_; }

  private:
    void prepare();
    void spawn();
    void handle_messages();
    void record_state();
    // The one-line error for an init that ended before its exec.
    [[nodiscard]] std::string init_death() const;

    const StateRoot& root_;
    CreateOptions options_;
    bool foreground_;

    std::string config_text_;
    oci::Spec spec_;
    std::string rootfs_;
    bool rootless_ = false;
    bool in_user_namespace_ = false;  // the runtime itself runs in a child user namespace
    CapabilitySets caps_;
    bool has_caps_ = false;
    std::shared_ptr<seccomp::Filter> seccomp_;
    std::unique_ptr<cgroup::Manager> cgroup_;
    std::vector<NamespaceToJoin> joins_;
    UniqueFd state_dir_;
    UniqueFd start_listener_;
    UniqueFd console_;       // the socket the init sends the pty master to
    UniqueFd console_peer_;  // foreground terminal: our end of an internal pair
    UniqueFd pty_master_;
    SyncSocket sync_;
    sigset_t original_mask_{};
    bool signals_blocked_ = false;
    InitPlan plan_;
    pid_t child_ = 0;
    pid_t init_pid_ = 0;
    bool child_reaped_ = false;  // the intermediate, once the init is on its own
    ContainerState state_;
    // Last: destroyed first, while everything its steps use still exists.
    Rollback rollback_;
};

void Launch::prepare() {
    StateRoot::validate_id(options_.id);
    std::string config_path = options_.bundle + "/config.json";
    config_text_ = read_file_limited(config_path, kMaxConfigSize);
    try {
        spec_ = oci::parse_spec(parse_json(config_text_, config_path));
    } catch (const InvalidDocument& e) {
        throw Error(config_path + ": " + e.what());
    }
    rootless_ = ::geteuid() != 0;
    validate_for_create(spec_, rootless_);
    const oci::Process& process = *spec_.process;

    rootfs_ = is_absolute_path(spec_.root.path) ? clean_path(spec_.root.path)
                                                : join_path(options_.bundle, spec_.root.path);
    struct stat st {};
    if (::stat(rootfs_.c_str(), &st) < 0 || !S_ISDIR(st.st_mode))
        throw Error("root.path: " + rootfs_ + " is not a directory");

    if (process.capabilities) {
        caps_ = resolve_capabilities(*process.capabilities, "process.capabilities");
        has_caps_ = true;
    }
    // Before anything exists: the re-exec starts this command over.
    if (needs_sealed_executable(has_caps_, caps_.bounding,
                                spec_.linux.find_namespace(oci::NamespaceType::user) != nullptr)) {
        if (options_.in_caller_process)
            throw NeedsRuntimeProgram(
                "the container keeps CAP_SYS_PTRACE: the runtime must run from a sealed copy");
        ensure_sealed_executable();
    }
    if (spec_.linux.seccomp) {
        seccomp_ = std::make_shared<seccomp::Filter>(
            seccomp::compile(*spec_.linux.seccomp, root_.seccomp_cache()));
    }
    if (process.terminal && options_.console_socket.empty() && !foreground_)
        throw Error(
            "process.terminal: a detached container with a terminal needs --console-socket");
    if (!process.terminal && !options_.console_socket.empty())
        throw Error("--console-socket: process.terminal is false, there is no terminal to send");

    cgroup::Options cg;
    cg.cgroups_path = spec_.linux.cgroups_path;
    cg.container_id = options_.id;
    cg.systemd = options_.systemd_cgroup;
    // Run by a rootless engine as uid 0 of its user namespace: the host's cgroupfs is not
    // ours either.
    in_user_namespace_ = in_child_user_namespace();
    cg.rootless = rootless_ || in_user_namespace_;
    cg.quiet_skips = in_user_namespace_;
    cgroup_ = cgroup::Manager::open(cg);
    joins_ = open_namespaces_to_join(spec_.linux);
}

void Launch::spawn() {
    const oci::Linux& linux = spec_.linux;
    const oci::Process& process = *spec_.process;

    state_dir_ = root_.create(options_.id);
    rollback_.add([this] { root_.remove(options_.id); });
    write_file(root_.config_path(options_.id), config_text_, 0600);
    // Before any cgroup exists: a runtime killed from here on leaves a state directory
    // without state.json, and `delete --force` finds the cgroups to empty and remove here.
    write_file(root_.cgroup_record_path(options_.id), cgroup_->to_json().dump(), 0600);
    // Usually the child joins the v1 cgroups itself while we create them (see below); only the
    // unified one must exist before it is born. With a user namespace it cannot write the
    // host's cgroupfs (nor can a runtime that runs in one), and then everything is made first.
    const bool new_user = linux.has_new_namespace(oci::NamespaceType::user);
    const bool child_joins_cgroups = !linux.find_namespace(oci::NamespaceType::user) &&
                                     !in_user_namespace_ && !needs_intermediate(linux, joins_);
    if (child_joins_cgroups)
        cgroup_->create_unified();
    else
        cgroup_->create();
    rollback_.add([this] { cgroup_->destroy(); });
    if (rootless_ && !linux.has_new_namespace(oci::NamespaceType::pid)) {
        bool tracked = false;
        for (const auto& p : cgroup_->placements())
            tracked = tracked || !p.shared;
        // As runc warns: only the init is known, what it forks may outlive `kill` and `delete`.
        if (!tracked)
            log::warn(
                "rootless: no cgroup and no new pid namespace: the container's processes other "
                "than its init cannot be found to be killed");
    }
    oci::Resources resources = linux.resources.value_or(oci::Resources{});
    resources.devices = device_cgroup_rules(linux);
    if (!child_joins_cgroups) cgroup_->apply(resources);

    if (!foreground_) {
        start_listener_ = listen_for_start(state_dir_.get());
    }
    if (process.terminal) {
        if (!options_.console_socket.empty()) {
            console_ = connect_console_socket(options_.console_socket);
        } else {
            int pair[2];
            if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
                throw_errno("socketpair");
            console_peer_.reset(pair[0]);
            console_.reset(pair[1]);
        }
    }

    auto [parent_end, child_end] = SyncSocket::make_pair();
    sync_ = std::move(parent_end);
    SyncSocket child_sync = std::move(child_end);

    // Which namespaces clone(2) can create directly, and which need an intermediate child.
    const int new_flags = new_namespace_flags(linux) & ~CLONE_NEWCGROUP;
    auto joined = [&](oci::NamespaceType t) {
        const oci::Namespace* ns = linux.find_namespace(t);
        return ns && !ns->path.empty();
    };
    const bool intermediate = needs_intermediate(linux, joins_);

    plan_.spec = &spec_;
    plan_.process = &process;
    plan_.id = options_.id;
    plan_.bundle = options_.bundle;
    plan_.rootfs = rootfs_;
    plan_.sync = &child_sync;
    plan_.start_listen_fd = start_listener_.get();
    plan_.console_socket_fd = console_.get();
    plan_.preserve_fds = options_.preserve_fds + listen_fds_for_us();
    plan_.no_pivot = options_.no_pivot;
    plan_.no_new_keyring = options_.no_new_keyring;
    plan_.rootless = rootless_;
    plan_.joins = &joins_;
    plan_.intermediate = intermediate;
    // Without a user namespace, clone(2) makes only the pid namespace and the init unshares the
    // rest: a new network namespace alone takes most of a millisecond, which the init then
    // spends while we create its cgroups, instead of before.
    const bool unshare_in_init = !intermediate && !(new_flags & CLONE_NEWUSER);
    plan_.clone_flags = intermediate ? 0 : unshare_in_init ? (new_flags & CLONE_NEWPID) : new_flags;
    plan_.unshare_flags = intermediate || unshare_in_init ? new_flags & ~plan_.clone_flags : 0;
    plan_.user_namespace =
        linux.find_namespace(oci::NamespaceType::user) != nullptr || in_user_namespace_;
    plan_.new_cgroup_namespace = linux.has_new_namespace(oci::NamespaceType::cgroup);
    plan_.new_mount_namespace = linux.has_new_namespace(oci::NamespaceType::mount);
    plan_.joined_mount_namespace = joined(oci::NamespaceType::mount);
    plan_.new_network_namespace = linux.has_new_namespace(oci::NamespaceType::network);
    auto loopback = spec_.annotations.find(std::string(kLoopbackAnnotation));
    plan_.loopback_up = plan_.new_network_namespace && loopback != spec_.annotations.end() &&
                        loopback->second == "up";
    plan_.cgroup_mode = cgroup_->mode();
    plan_.cgroup_placements = cgroup_->placements();
    plan_.has_capabilities = has_caps_;
    plan_.capabilities = caps_;
    plan_.env = process_env(process, listen_fds_for_us());
    if (seccomp_ && seccomp_->has_listener()) {
        auto filter = seccomp_;
        plan_.load_seccomp_listener = [filter] { return filter->load(); };
    } else if (seccomp_) {
        auto filter = seccomp_;
        plan_.load_seccomp = [filter] { filter->load(); };
    }
    plan_.has_create_runtime_hooks =
        !spec_.hooks.prestart.empty() || !spec_.hooks.create_runtime.empty();
    plan_.foreground = foreground_;
    plan_.child_joins_cgroups = child_joins_cgroups;
    plan_.cgroups = cgroup_.get();

    if (foreground_ && ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
        throw_errno("prctl(PR_SET_CHILD_SUBREAPER)");
    original_mask_ = block_all_signals();
    plan_.original_signal_mask = options_.process_signal_mask.value_or(original_mask_);
    plan_.stdio = options_.stdio;
    signals_blocked_ = true;
    rollback_.add([this] { ::sigprocmask(SIG_SETMASK, &original_mask_, nullptr); });
    if (child_joins_cgroups) {
        UniqueFd unified = cgroup_->open_unified_dir();
        bool into_cgroup = false;
        child_ = clone_process(plan_.clone_flags, unified.get(), &into_cgroup);
        if (child_ < 0) throw_errno("clone the container process");
        if (child_ > 0 && unified && !into_cgroup) cgroup_->add_process(child_);
    } else {
        child_ = clone_into_cgroups(*cgroup_, plan_.clone_flags);
    }
    if (child_ == 0) {
        // Our flock on the state directory must not live on in the init (it would block
        // `start` and `delete`), nor our end of the handshake.
        state_dir_.reset();
        sync_.close();
        console_peer_.reset();
        container_init(plan_);
    }
    child_sync.close();
    init_pid_ = child_;
    rollback_.add([this] {
        ::kill(init_pid_, SIGKILL);
        if (init_pid_ != child_) ::kill(child_, SIGKILL);
        if (!child_reaped_) reap(child_);
        if (foreground_ && init_pid_ != child_) reap(init_pid_);
    });

    if (!intermediate && new_user)
        write_id_mappings(child_, linux.uid_mappings, linux.gid_mappings);
    if (process.oom_score_adj)
        write_existing_file("/proc/" + std::to_string(child_) + "/oom_score_adj",
                            std::to_string(*process.oom_score_adj));
    if (child_joins_cgroups) {
        // While the child mounts its rootfs; it waits for setup_done before it joins them.
        cgroup_->create();
        cgroup_->apply(resources);
    }
    sync_.send(SyncType::setup_done);
    if (options_.while_init_prepares) options_.while_init_prepares();
    handle_messages();
}

void Launch::handle_messages() {
    auto hook_state = [this] {
        return oci::State{options_.id, oci::Status::creating, init_pid_, options_.bundle,
                          spec_.annotations};
    };
    for (;;) {
        bool eof = false;
        SyncMessage msg;
        try {
            msg = sync_.receive(&eof);
        } catch (const SystemError&) {  // reset: it died with a message of ours unread
            eof = true;
        }
        if (eof) throw Error(init_death());
        switch (msg.type) {
            case SyncType::map_ids:
                write_id_mappings(static_cast<pid_t>(msg.value), spec_.linux.uid_mappings,
                                  spec_.linux.gid_mappings);
                sync_.send(SyncType::setup_done);
                break;
            case SyncType::init_pid:
                // The intermediate stays until the init is ready (the init dies with it, it
                // with us); the init is then reparented to us or our parent.
                init_pid_ = static_cast<pid_t>(msg.value);
                break;
            case SyncType::run_hooks:
                run_hooks(spec_.hooks.prestart, hook_state(), "prestart");
                run_hooks(spec_.hooks.create_runtime, hook_state(), "createRuntime");
                sync_.send(SyncType::hooks_done, init_pid_);
                break;
            case SyncType::seccomp_listener:
                seccomp::forward_listener(init_pid_, static_cast<int>(msg.value),
                                          *spec_.linux.seccomp, hook_state());
                break;
            case SyncType::ready:
                if (init_pid_ != child_) {
                    reap(child_);
                    child_reaped_ = true;
                }
                return;
            default:
                throw Error("unexpected message from the container's init");
        }
    }
}

std::string Launch::init_death() const {
    if (auto message = death_before_exec(init_pid_, spec_.process->args.front())) return *message;
    return "the container's init exited during setup";
}

void Launch::create() {
    prepare();
    spawn();
    auto start_time = process_start_time(init_pid_);
    if (!start_time) throw Error(init_death());
    if (spec_.process->terminal && console_peer_) pty_master_ = receive_fd(console_peer_.get());

    state_.id = options_.id;
    state_.bundle = options_.bundle;
    state_.rootfs = rootfs_;
    state_.pid = init_pid_;
    state_.pid_start_time = *start_time;
    state_.created = rfc3339_now();
    state_.owner = ::geteuid();
    state_.annotations = spec_.annotations;
    state_.cgroup = cgroup_->to_json();
    state_.own_pid_namespace = spec_.linux.has_new_namespace(oci::NamespaceType::pid);
    state_.rootless = rootless_;
    state_.systemd_cgroup = options_.systemd_cgroup;
    state_.poststop_hooks = !spec_.hooks.poststop.empty();
    if (!foreground_) {
        record_state();
        // The init waits for this before it goes on without us (see parent_death.hpp).
        try {
            sync_.send(SyncType::recorded);
        } catch (const SystemError&) {
            throw Error(init_death());
        }
    }
}

void Launch::record_state() {
    root_.save(state_);
    if (!options_.pid_file.empty())
        replace_file(options_.pid_file, std::to_string(init_pid_), 0644);
}

void Launch::start() {
    try {
        sync_.send(SyncType::start, init_pid_);
    } catch (const SystemError&) {
        throw Error(init_death());
    }
    // In the foreground the state is written while the init execs, off the critical path.
    record_state();
    // EOF: the init exec'd (the socket is close-on-exec), or died without a word (a seccomp
    // filter can deny it every system call); an error message: it could not exec.
    bool eof = false;
    try {
        sync_.receive(&eof);
    } catch (const SystemError&) {  // reset: it died with our message unread
        throw Error(init_death());
    }
    if (auto death = death_before_exec(init_pid_, spec_.process->args.front())) throw Error(*death);
    run_hooks_warn(
        spec_.hooks.poststart,
        {options_.id, oci::Status::running, init_pid_, options_.bundle, spec_.annotations},
        "poststart");
}

void Launch::start_detached() {
    try {
        if (options_.before_start) options_.before_start();
        request_start(state_dir_.get(), init_pid_, options_.id);
    } catch (...) {
        destroy_container(root_, state_, &spec_);
        throw;
    }
    ::unlink(root_.start_socket_path(options_.id).c_str());
    run_hooks_warn(
        spec_.hooks.poststart,
        {options_.id, oci::Status::running, init_pid_, options_.bundle, spec_.annotations},
        "poststart");
}

int Launch::wait_and_remove() {
    int code = wait_in_foreground(init_pid_, pty_master_.get());
    ::sigprocmask(SIG_SETMASK, &original_mask_, nullptr);
    destroy_container(root_, state_, &spec_);
    reap_children();
    return code;
}

}  // namespace

void create_container(const StateRoot& root, const CreateOptions& options) {
    Launch launch(root, options, false);
    launch.create();
    launch.commit();
}

int run_container(const StateRoot& root, const CreateOptions& options, bool detach) {
    if (detach) {
        Launch launch(root, options, false);
        launch.create();
        launch.commit();
        launch.start_detached();
        return 0;
    }
    Launch launch(root, options, true);
    launch.create();
    launch.start();
    launch.commit();
    return launch.wait_and_remove();
}

void empty_container_cgroups(cgroup::Manager& cgroups, const std::string& id,
                             bool every_hierarchy) {
    // Killed in a loop: a process may fork while the first signals go out (kill_all freezes
    // first where it can), and SIGKILLed processes take a moment to leave.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    long delay_us = 100;
    bool first = true;
    for (;;) {
        std::vector<pid_t> left = every_hierarchy ? cgroups.all_pids() : cgroups.pids();
        if (left.empty()) return;
        if (std::chrono::steady_clock::now() > deadline) {
            std::string pids;
            for (size_t i = 0; i < left.size() && i < 10; ++i)
                pids += (i ? " " : "") + std::to_string(left[i]);
            if (left.size() > 10) pids += " ...";
            std::string where;
            for (const auto& p : cgroups.placements())
                if (!p.shared) {
                    where = p.hierarchy.mountpoint + p.path;
                    break;
                }
            throw Error("container \"" + id + "\": " + std::to_string(left.size()) +
                        " process(es) still in its cgroup " + where + " after SIGKILL: " + pids);
        }
        if (first) {
            try {
                cgroups.kill_all(SIGKILL);
            } catch (const std::exception& e) {
                log::debug(std::string("kill remaining processes: ") + e.what());
            }
            first = false;
        }
        for (pid_t pid : left)
            ::kill(pid, SIGKILL);
        ::usleep(static_cast<useconds_t>(delay_us));
        delay_us = std::min<long>(delay_us * 2, 50000);
    }
}

void destroy_container(const StateRoot& root, const ContainerState& state,
                       const oci::Spec* known_spec, bool sweep) {
    std::optional<oci::Spec> loaded;
    if (!known_spec && state.poststop_hooks) {
        try {
            auto path = root.config_path(state.id);
            loaded = oci::parse_spec(parse_json(read_file(path), path));
            known_spec = &*loaded;
        } catch (const std::exception& e) {
            log::warn(std::string("poststop hooks skipped: ") + e.what());
        }
    }
    std::unique_ptr<cgroup::Manager> cg;
    if (!state.cgroup.is_null()) cg = cgroup::Manager::from_json(state.cgroup);
    // With its own pid namespace, everything in the container died with its init; otherwise
    // (or while the init lives, or when asked) the cgroup is where the remaining processes
    // are found.
    if (cg && (sweep || !state.own_pid_namespace || init_alive(state)))
        empty_container_cgroups(*cg, state.id, false);
    if (init_alive(state)) ::kill(state.pid, SIGKILL);
    for (int i = 0; i < 1000 && init_alive(state); ++i)
        ::usleep(1000);
    if (known_spec) {
        run_hooks_warn(known_spec->hooks.poststop,
                       {state.id, oci::Status::stopped, 0, state.bundle, state.annotations},
                       "poststop");
    }
    if (cg) {
        try {
            cg->destroy();
        } catch (const std::exception& e) {
            throw Error("container \"" + state.id + "\": " + e.what());
        }
    }
    root.remove(state.id);
}

}  // namespace berth::runtime
