#include "engine/monitor/monitor.hpp"

#include <fcntl.h>
#include <link.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <future>
#include <optional>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/path.hpp"
#include "common/strings.hpp"
#include "common/time.hpp"
#include "engine/container/container_db.hpp"
#include "engine/container/teardown.hpp"
#include "engine/monitor/attach_protocol.hpp"
#include "engine/monitor/console_socket.hpp"
#include "engine/monitor/cri_log.hpp"
#include "engine/monitor/monitor_cgroup.hpp"
#include "engine/monitor/seccomp_recorder.hpp"
#include "engine/network/cni.hpp"
#include "engine/network/netns.hpp"
#include "engine/process_identity.hpp"
#include "engine/subprocess.hpp"
#include "runtime/container_state.hpp"
#include "runtime/launcher.hpp"
#include "runtime/verbs/verbs.hpp"

namespace berth::engine {
namespace {

// How long a container runs before its monitor gives back its start-up memory: a short
// one (run --rm true) exits first and pays nothing.
constexpr auto kReleaseAfter = std::chrono::seconds(1);

// Where berth passes the network gate (see MonitorConfig::network_gate).
constexpr int kNetworkGateFd = 4;

using Clock = std::chrono::steady_clock;
// Attached clients beyond this are closed as they connect: each holds a file of a process
// that has the default limit of 1024.
constexpr size_t kMaxAttachClients = 256;

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

// One monitor runs per container, mostly asleep in poll(2): what the start needed (the
// JSON parser, SQLite, the runtime's code) need not stay resident. Freed heap goes back to
// the kernel, and this process's mappings of the binary's read-only segments (code, then
// constants and unwind tables) are dropped: MADV_DONTNEED on a private file mapping unmaps
// clean pages without evicting them from the page cache, so the loop's few pages come back
// as minor faults. Writable segments are left alone (they hold this process's data).
void release_startup_memory() {
    ::malloc_trim(0);
    ::dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void*) {
            auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
            for (int i = 0; i < info->dlpi_phnum; ++i) {
                const ElfW(Phdr)& segment = info->dlpi_phdr[i];
                if (segment.p_type != PT_LOAD || (segment.p_flags & PF_W)) continue;
                uintptr_t start = (info->dlpi_addr + segment.p_vaddr) & ~(page - 1);
                uintptr_t end =
                    (info->dlpi_addr + segment.p_vaddr + segment.p_memsz + page - 1) & ~(page - 1);
                ::madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED);
            }
            return 1;  // the executable comes first; nothing else is loaded
        },
        nullptr);
}

void set_nonblocking(int fd) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

class Monitor {
  public:
    Monitor(const MonitorConfig& config, int sync_fd)
        : c_(config),
          // The berth-runtime beside this monitor is the one berth installs with it: its
          // start and delete are this process's to call (the same library code, without a
          // process start: ~4 ms each here). Another runtime, or a berth-runtime from
          // elsewhere, is run as a program.
          builtin_runtime_(config.runtime == own_directory() + "/berth-runtime"),
          sync_(sync_fd),
          log_(config.bundle + "/container.log", config.log_max_size) {}

    int run();

  private:
    bool start_network();
    bool start_container(bool first);
    void fail_start(bool first, const std::string& message);
    void loop();
    void on_output(int index);
    void on_client(size_t index);
    void reap();
    void container_exited(int status);
    bool should_restart(const ContainerState& state) const;
    void drain_output();
    void start_health_check();
    void health_check_done(int code);
    void accept_attach_client();
    bool open_network_gate(std::string& why);
    void start_network_release();
    bool release_networks();
    void finish();
    std::optional<SubprocessResult> create_here(bool gated, bool first, std::array<int, 3> stdio);
    SubprocessResult start_in_runtime();
    void delete_in_runtime();
    void start_runtime_delete();
    void wait_for_runtime_delete();
    // NOLINTNEXTLINE(readability-make-member-function-const): changes state outside the object
    void tell_cli(const std::string& line) {
        if (sync_ < 0) return;
        (void)!::write(sync_, line.data(), line.size());
    }
    // Opened when needed and closed whenever the monitor waits (loop): a monitor lives as
    // long as its container, and an idle one should hold no database cache; the steps of
    // a start or an exit share one connection.
    ContainerDb& db() {
        if (!db_) db_.emplace(c_.state_db);
        return *db_;
    }
    std::vector<std::string> runtime_argv(std::initializer_list<std::string> verb) const {
        std::vector<std::string> argv = {c_.runtime, "--root", c_.runtime_root, "--log",
                                         c_.bundle + "/runtime.log"};
        argv.insert(argv.end(), verb.begin(), verb.end());
        return argv;
    }

    MonitorConfig c_;
    bool builtin_runtime_;  // berth-runtime's start and delete are called here
    int sync_;
    CriLogWriter log_;
    UniqueFd signals_, attach_listener_;
    std::vector<UniqueFd> clients_;
    std::vector<attach::Decoder> decoders_;
    Slirp4netns slirp4netns_;  // rootless: the container's network, for the monitor's life
    UniqueFd output_[2];       // stdout/stderr pipes, or the pty master in output_[0]
    UniqueFd stdin_;           // the write end of the container's stdin pipe
    int64_t container_pid_ = 0;
    bool done_ = false;
    int exit_code_ = 0;
    pid_t health_pid_ = 0;
    std::optional<Clock::time_point> release_due_;
    // Set when accepting an attach client failed for want of files: the listener stays
    // readable, so it is left out of poll until then instead of spinning.
    std::optional<Clock::time_point> accept_paused_until_;
    MonitorCgroup cgroup_;               // <parent>/monitor, beside the container's cgroup
    std::future<void> network_release_;  // the bridge's CNI DELs, once the container is done
    std::future<void> runtime_delete_;   // after the last exit, on a thread of its own
    std::optional<ContainerDb> db_;
    Clock::time_point health_deadline_{}, next_health_{};
    std::optional<SeccompRecorder> seccomp_recorder_;  // --security-opt seccomp=record:FILE
};

int Monitor::run() {
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    ::sigprocmask(SIG_BLOCK, &mask, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    signals_.reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!c_.network_gate) ::close(kNetworkGateFd);  // berth closed its end: nothing comes
    if (::chdir(c_.bundle.c_str()) != 0) throw_errno("chdir", c_.bundle);
    attach_listener_ = listen_unix("attach.sock");
    set_nonblocking(attach_listener_.get());
    if (!c_.seccomp_record.empty())
        seccomp_recorder_.emplace(c_.seccomp_listener, c_.seccomp_record);
    if (!start_network()) return 1;
    if (!start_container(true)) return 1;
    {
        // From now on charged where the container's limits apply (monitor_cgroup.hpp); not
        // while it made the container, which a small --cpus would slow down.
        std::string error;
        auto spec =
            nlohmann::json::parse(read_file_if_exists("config.json").value_or(""), nullptr, false);
        if (spec.is_object()) cgroup_ = MonitorCgroup::join(spec, error);
        // (The monitor's stderr is /dev/null: the reason stays beside the container's log.)
        if (!error.empty()) write_file("monitor.log", error + "\n", 0600);
    }
    loop();
    return 0;
}

// Rootless: slirp4netns on the namespace the CLI made, its ports, before the container runs
// (a port that cannot be had fails the start, as a bridge network's does).
bool Monitor::start_network() {
    if (c_.slirp4netns.empty()) return true;
    try {
        slirp4netns_ = Slirp4netns(
            {c_.slirp4netns, c_.netns, c_.slirp4netns_api_socket, c_.bundle + "/slirp4netns.log"});
        for (const auto& port : c_.forwarded_ports)
            slirp4netns_.forward(port);
    } catch (const Error& e) {
        tell_cli("created\n");
        fail_start(true, e.what());
        return false;
    }
    return true;
}

// The CLI attaches before the process starts: none of its output can be missed.
void Monitor::accept_attach_client() {
    if (!c_.wait_for_attach) return;
    pollfd p{attach_listener_.get(), POLLIN, 0};
    if (::poll(&p, 1, 30000) != 1) return;
    UniqueFd client(::accept4(attach_listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (client) {
        clients_.push_back(std::move(client));
        decoders_.emplace_back();
    }
}

// The CLI's line on fd 4 once the CNI ADD is done (MonitorConfig::network_gate): true with
// what the cleanup releases, false with why not.
bool Monitor::open_network_gate(std::string& why) {
    // One line, then the CLI closes its end: read to the end, in large reads.
    std::string line;
    char buffer[4096];
    for (;;) {
        ssize_t n = ::read(kNetworkGateFd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        line.append(buffer, static_cast<size_t>(n));
    }
    ::close(kNetworkGateFd);
    if (auto end = line.find('\n'); end != std::string::npos) line.resize(end);
    if (line.starts_with("abort ")) {
        why = line.substr(6);
        return false;
    }
    if (!line.starts_with("go ")) {
        why = "berth exited before the container's network was set up";
        return false;
    }
    auto release = nlohmann::json::parse(line.substr(3), nullptr, false);
    if (release.is_object() && release.value("local", false)) {
        c_.local_cleanup = true;
        c_.netns = release.value("netns", "");
        for (const auto& t : release.value("teardown", nlohmann::json::array()))
            c_.cni_teardown.push_back(cni_teardown_from_json(t));
        c_.cni_attachments = release.value("attachments", nlohmann::json::object());
    }
    return true;
}

bool Monitor::start_container(bool first) {
    UniqueFd child_in, child_out, child_err, console;
    ::unlink("pidfile");
    if (c_.terminal) {
        console = listen_unix(c_.console_socket, 1);
    } else {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe");
        output_[0].reset(fds[0]);
        child_out.reset(fds[1]);
        if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe");
        output_[1].reset(fds[0]);
        child_err.reset(fds[1]);
        if (c_.open_stdin) {
            if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe");
            child_in.reset(fds[0]);
            stdin_.reset(fds[1]);
        }
    }
    SubprocessOptions options;
    options.capture_stdout = options.capture_stderr = false;
    options.stdin_fd = child_in.get();
    options.stdout_fd = child_out.get();
    options.stderr_fd = child_err.get();
    // With a CNI network the runtime creates the container while the CLI runs the ADD, and
    // starts it once the CLI says the network is up. Otherwise create and start are one
    // runtime process (`run --detach` returns once the process runs). Either way the
    // container's init is then this subreaper's child.
    const bool gated = first && c_.network_gate;
    if (first) tell_cli("created\n");
    std::vector<std::string> launch =
        gated
            ? runtime_argv({"create", "--bundle", c_.bundle, "--pid-file", c_.bundle + "/pidfile"})
            : runtime_argv(
                  {"run", "--detach", "--bundle", c_.bundle, "--pid-file", c_.bundle + "/pidfile"});
    if (c_.terminal) {
        launch.emplace_back("--console-socket");
        launch.push_back(c_.console_socket);
    }
    launch.push_back(c_.id);
    ::unlink("runtime.log");
    // An attached start waits for the client's connection before the process starts, so
    // that no output is lost: the built-in runtime creates the container meanwhile
    // (before_start), a runtime program is run only once the client is there.
    std::optional<SubprocessResult> created;
    if (builtin_runtime_)
        created = create_here(gated, first, {child_in.get(), child_out.get(), child_err.get()});
    if (!created) {
        if (first && !gated) accept_attach_client();
        Subprocess launched(launch, options);
        // While the runtime works (~10 ms, mostly the kernel's namespaces), the database
        // connection that records `running` is opened on the other core.
        db();
        created = launched.wait();
    }
    SubprocessResult started = std::move(*created);
    child_in.reset();
    child_out.reset();
    child_err.reset();
    if (gated) {
        // Also after a failed create: the cleanup must not begin before the CLI's ADD is
        // over and recorded, or what the ADD made would be left behind.
        std::string why;
        bool network_up = open_network_gate(why);
        if (started.exit_code == 0 && !network_up) {
            delete_in_runtime();
            fail_start(first, why);
            return false;
        }
        if (started.exit_code == 0) {
            accept_attach_client();
            started = start_in_runtime();
        }
    }
    if (started.exit_code != 0) {
        std::string message = started.err;  // from the built-in start, else the runtime's log
        if (!builtin_runtime_ || message.empty())
            message = last_runtime_error(c_.bundle + "/runtime.log");
        delete_in_runtime();
        fail_start(first, message.empty() ? "the runtime failed to start the container" : message);
        return false;
    }
    if (c_.terminal) {
        output_[0] = receive_fd(console.get());
        console.reset();
        ::unlink(c_.console_socket.c_str());
    }
    for (auto& out : output_)
        if (out) set_nonblocking(out.get());
    auto pid_text = read_file_if_exists(c_.bundle + "/pidfile");
    container_pid_ = pid_text ? parse_int64(trim(*pid_text)).value_or(0) : 0;
    int64_t start_time = process_start_time(container_pid_);
    auto self = static_cast<int64_t>(::getpid());
    int64_t self_start = process_start_time(self);
    db().modify_state(c_.id, [&](ContainerState& s) {
        s.status = Status::running;
        s.pid = container_pid_;
        s.pid_start = start_time;
        s.monitor_pid = self;
        s.monitor_start = self_start;
        s.started_at = rfc3339_now(false);
        s.finished_at.clear();
        s.oom_killed = false;
        s.error.clear();
        if (!first) ++s.restart_count;
        if (!c_.health.command.empty()) {
            s.health = "starting";
            s.failing_streak = 0;
        }
    });
    next_health_ = Clock::now() + std::chrono::milliseconds(c_.health.interval_ms);
    if (first) {
        tell_cli("started\n");
        ::close(sync_);
        sync_ = -1;
    }
    release_due_ = Clock::now() + kReleaseAfter;
    return true;
}

void Monitor::fail_start(bool first, const std::string& message) {
    int code = classify_start_error(message);
    db().modify_state(c_.id, [&](ContainerState& s) {
        s.status = Status::exited;
        s.exit_code = code;
        s.pid = 0;
        s.monitor_pid = 0;
        s.error = message;
        s.finished_at = rfc3339_now(false);
    });
    std::string line = message;
    std::replace(line.begin(), line.end(), '\n', ' ');
    exit_code_ = code;
    finish();  // --rm: gone before the CLI reports the failure
    if (first) tell_cli("error " + std::to_string(code) + " " + line + "\n");
}

void Monitor::loop() {
    while (!done_) {
        std::vector<pollfd> fds;
        fds.push_back({signals_.get(), POLLIN, 0});
        if (accept_paused_until_ && Clock::now() >= *accept_paused_until_)
            accept_paused_until_.reset();
        fds.push_back({accept_paused_until_ ? -1 : attach_listener_.get(), POLLIN, 0});
        fds.push_back({output_[0].get(), POLLIN, 0});
        fds.push_back({output_[1].get(), POLLIN, 0});
        for (auto& client : clients_)
            fds.push_back({client.get(), POLLIN, 0});
        std::optional<Clock::time_point> wake;
        if (!c_.health.command.empty()) wake = health_pid_ ? health_deadline_ : next_health_;
        if (release_due_ && (!wake || *release_due_ < *wake)) wake = release_due_;
        if (accept_paused_until_ && (!wake || *accept_paused_until_ < *wake))
            wake = accept_paused_until_;
        int timeout = -1;
        if (wake) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*wake - Clock::now());
            timeout = static_cast<int>(std::max<int64_t>(0, left.count()));
        }
        // The database stays open while there is something to do at once (a container that
        // exits as it starts: its exit reuses the start's connection), and is closed before
        // the monitor sleeps.
        int ready = ::poll(fds.data(), fds.size(), 0);
        if (ready == 0 && timeout != 0) {
            db_.reset();
            ready = ::poll(fds.data(), fds.size(), timeout);
        }
        if (ready < 0 && errno != EINTR) throw_errno("poll");
        if (release_due_ && Clock::now() >= *release_due_) {
            release_due_.reset();
            release_startup_memory();
        }
        if (!c_.health.command.empty()) {
            if (health_pid_ && Clock::now() >= health_deadline_) {
                ::kill(health_pid_, SIGKILL);
            } else if (!health_pid_ && Clock::now() >= next_health_) {
                start_health_check();
            }
        }
        if (ready <= 0) continue;
        if (fds[1].revents & POLLIN) {
            UniqueFd client(::accept4(attach_listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
            if (!client &&
                (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)) {
                accept_paused_until_ = Clock::now() + std::chrono::milliseconds(100);
            } else if (client && clients_.size() < kMaxAttachClients) {
                clients_.push_back(std::move(client));
                decoders_.emplace_back();
            }  // (over the cap: closed at once, the client reads the end of the stream)
        }
        for (int i = 0; i < 2; ++i)
            if (fds[2 + static_cast<size_t>(i)].revents) on_output(i);
        for (size_t i = fds.size(); i-- > 4;)
            if (fds[i].revents) on_client(i - 4);
        if (fds[0].revents & POLLIN) {
            signalfd_siginfo info{};
            while (::read(signals_.get(), &info, sizeof info) == sizeof info) {
            }
            reap();
        }
    }
}

void Monitor::on_output(int index) {
    char buffer[65536];
    ssize_t n = ::read(output_[index].get(), buffer, sizeof buffer);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {  // end of stream (or EIO: the pty's last holder closed it)
        output_[index].reset();
        return;
    }
    auto data = std::string_view(buffer, static_cast<size_t>(n));
    LogStream stream = index == 0 ? LogStream::stdout_stream : LogStream::stderr_stream;
    log_.write(stream, data);
    auto frame = index == 0 ? attach::Frame::stdout_data : attach::Frame::stderr_data;
    for (size_t i = 0; i < clients_.size(); ++i)
        if (clients_[i] && !attach::send(clients_[i].get(), frame, data)) clients_[i].reset();
}

void Monitor::on_client(size_t index) {
    char buffer[8192];
    ssize_t n = ::read(clients_[index].get(), buffer, sizeof buffer);
    if (n <= 0) {
        if (n < 0 && errno == EINTR) return;
        clients_.erase(clients_.begin() + static_cast<ptrdiff_t>(index));
        decoders_.erase(decoders_.begin() + static_cast<ptrdiff_t>(index));
        return;
    }
    decoders_[index].feed(buffer, static_cast<size_t>(n));
    while (auto message = decoders_[index].next()) {
        int input = c_.terminal ? output_[0].get() : stdin_.get();
        switch (message->type) {
            case attach::Frame::stdin_data:
                if (input >= 0) {
                    // Blocking write: a container not reading its stdin holds the client back.
                    int flags = ::fcntl(input, F_GETFL);
                    ::fcntl(input, F_SETFL, flags & ~O_NONBLOCK);
                    write_all(input, message->payload, "stdin");
                    ::fcntl(input, F_SETFL, flags);
                }
                break;
            case attach::Frame::stdin_close:
                if (c_.terminal && output_[0]) {
                    char eof = 4;  // ^D: the terminal's end of file
                    (void)!::write(output_[0].get(), &eof, 1);
                } else {
                    stdin_.reset();
                }
                break;
            case attach::Frame::resize: {
                auto parts = split(message->payload, ' ');
                if (parts.size() == 2 && output_[0] && c_.terminal) {
                    winsize ws{};
                    ws.ws_row = static_cast<unsigned short>(parse_uint64(parts[0]).value_or(24));
                    ws.ws_col = static_cast<unsigned short>(parse_uint64(parts[1]).value_or(80));
                    ::ioctl(output_[0].get(), TIOCSWINSZ, &ws);
                }
                break;
            }
            default:
                break;
        }
    }
}

void Monitor::reap() {
    while (true) {
        int status = 0;
        pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0) return;
        if (pid == health_pid_) {
            health_pid_ = 0;
            health_check_done(decode_wait_status(status));
        } else if (pid == container_pid_) {
            container_exited(status);
            if (done_) return;
        }
    }
}

void Monitor::drain_output() {
    auto deadline = Clock::now() + std::chrono::seconds(2);
    while ((output_[0] || output_[1]) && Clock::now() < deadline) {
        pollfd fds[2] = {{output_[0].get(), POLLIN, 0}, {output_[1].get(), POLLIN, 0}};
        if (::poll(fds, 2, 100) <= 0) break;
        for (int i = 0; i < 2; ++i)
            if (fds[i].revents) on_output(i);
    }
    output_[0].reset();
    output_[1].reset();
    stdin_.reset();
    log_.flush();
}

bool Monitor::should_restart(const ContainerState& s) const {
    if (s.stopped_by_user) return false;
    const RestartPolicy& p = c_.restart;
    if (p.name == "always" || p.name == "unless-stopped") return true;
    if (p.name == "on-failure")
        return s.exit_code != 0 && (p.max_retries == 0 || s.restart_count < p.max_retries);
    return false;
}

void Monitor::container_exited(int status) {
    container_pid_ = 0;
    drain_output();
    // Before the exit is reported: whoever waits for it finds the profile written.
    if (seccomp_recorder_) seccomp_recorder_->write_profile();
    if (health_pid_) ::kill(health_pid_, SIGKILL);
    int code = decode_wait_status(status);
    bool oom = false;
    if (!c_.memory_cgroup.empty()) {
        auto control = read_file_if_exists(c_.memory_cgroup + "/memory.oom_control");
        if (control) {
            size_t at = control->find("oom_kill ");
            oom = at != std::string::npos && (*control)[at + 9] != '0';
        }
    }
    // Without a restart policy this exit is the end: the bridge's DEL (two plugin runs, the
    // longest step of the cleanup) and the runtime's delete go on beside the rest (the exit
    // recorded, the rootfs unmounted); finish() waits for them before the row is let go.
    bool last = c_.restart.name == "no";
    // A --rm container's rootfs is let go first, before the delete's thread runs: an unmount
    // waits for an expedited RCU grace period, which takes ~0.3 ms with the other core idle
    // and ~1 ms with the delete running there. (finish() unmounts again, harmlessly, under
    // the container lock; an rm meanwhile does too.)
    if (last && c_.autoremove && c_.local_cleanup) release_rootfs(c_.bundle, true);
    if (last && c_.local_cleanup && !c_.cni_teardown.empty()) start_network_release();
    if (last)
        start_runtime_delete();
    else
        delete_in_runtime();
    auto state = db().modify_state(c_.id, [&](ContainerState& s) {
        s.status = Status::exited;
        s.exit_code = code;
        s.oom_killed = oom;
        s.pid = 0;
        s.finished_at = rfc3339_now(false);
        if (!c_.health.command.empty()) s.health.clear();
    });
    exit_code_ = code;
    if (state && should_restart(*state)) {
        // docker's back-off: 100 ms, doubling, at most a second here (tests wait on it).
        auto delay = std::chrono::milliseconds(100LL << std::min<int64_t>(state->restart_count, 3));
        std::this_thread::sleep_for(delay);
        auto again = db().get(c_.id);
        if (again && !again->state.stopped_by_user && start_container(false)) return;
        if (done_) return;
    }
    finish();
}

void Monitor::start_health_check() {
    std::vector<std::string> argv = runtime_argv({"exec", c_.id});
    argv.insert(argv.end(), c_.health.command.begin(), c_.health.command.end());
    std::vector<char*> c_argv = c_string_array(argv);
    pid_t pid = ::fork();
    if (pid == 0) {
        int devnull = ::open("/dev/null", O_RDWR);
        ::dup2(devnull, 0);
        ::dup2(devnull, 1);
        ::dup2(devnull, 2);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execv(c_argv[0], c_argv.data());
        ::_exit(127);
    }
    if (pid < 0) {
        next_health_ = Clock::now() + std::chrono::milliseconds(c_.health.interval_ms);
        return;
    }
    health_pid_ = pid;
    health_deadline_ = Clock::now() + std::chrono::milliseconds(c_.health.timeout_ms);
}

void Monitor::health_check_done(int code) {
    next_health_ = Clock::now() + std::chrono::milliseconds(c_.health.interval_ms);
    if (container_pid_ == 0) return;
    db().modify_state(c_.id, [&](ContainerState& s) {
        if (code == 0) {
            s.failing_streak = 0;
            s.health = "healthy";
        } else {
            ++s.failing_streak;
            if (s.failing_streak >= c_.health.retries) s.health = "unhealthy";
        }
    });
}

void Monitor::start_network_release() {
    network_release_ = std::async(std::launch::async, [this] {
        for (const auto& teardown : c_.cni_teardown)
            cni_del(teardown);
    });
}

// The prepared CNI DELs, unless the container's networks changed since its start (then
// the cleanup command does it all: false). A DEL that already ran is harmless then: DEL is
// idempotent, and the cleanup command's DEL comes after it.
bool Monitor::release_networks() {
    if (c_.cni_teardown.empty()) return true;
    if (!network_release_.valid()) start_network_release();
    network_release_.get();
    ContainerDb& containers = db();
    auto row = containers.get(c_.id);
    if (!row) return true;  // removed meanwhile: rm released them
    nlohmann::json config = row->config;
    if (config.value("attachments", nlohmann::json::object()) != c_.cni_attachments) return false;
    if (!c_.autoremove) {
        config["attachments"] = nlohmann::json::object();
        containers.update_config(c_.id, config);
    }
    return true;
}

// The built-in runtime's create (gated) or run --detach, called here: the container's init
// is this process's child, without a runtime process started and waited for. Empty when
// the container needs the runtime program after all (NeedsRuntimeProgram).
std::optional<SubprocessResult> Monitor::create_here(bool gated, bool first,
                                                     std::array<int, 3> stdio) {
    runtime::CreateOptions options;
    options.id = c_.id;
    options.bundle = c_.bundle;
    options.pid_file = c_.bundle + "/pidfile";
    if (c_.terminal) options.console_socket = c_.console_socket;
    options.in_caller_process = true;
    options.stdio = stdio;
    sigset_t none;
    sigemptyset(&none);
    options.process_signal_mask = none;  // ours blocks what the signalfd reads
    // While the init sets itself up (mostly the kernel's namespaces and mounts), the
    // database connection that records `running` is opened.
    options.while_init_prepares = [this] { db(); };
    if (first && !gated) options.before_start = [this] { accept_attach_client(); };
    SubprocessResult result;
    try {
        runtime::StateRoot root(c_.runtime_root);
        if (gated)
            runtime::create_container(root, options);
        else
            runtime::run_container(root, options, true);
        result.exit_code = 0;
    } catch (const runtime::NeedsRuntimeProgram&) {
        return std::nullopt;
    } catch (const std::exception& e) {
        result.exit_code = 1;
        result.err = e.what();
    }
    return result;
}

SubprocessResult Monitor::start_in_runtime() {
    if (!builtin_runtime_) return run_subprocess(runtime_argv({"start", c_.id}));
    SubprocessResult result;
    try {
        runtime::start_container(runtime::StateRoot(c_.runtime_root), c_.id);
        result.exit_code = 0;
    } catch (const std::exception& e) {
        result.exit_code = 1;
        result.err = e.what();
    }
    return result;
}

// Its failure is not looked at, as a delete process's exit status is not: what a failed
// delete leaves, `rm` and the next start find in the runtime's state again.
void Monitor::delete_in_runtime() {
    if (!builtin_runtime_) {
        run_subprocess(runtime_argv({"delete", "--force", c_.id}));
        return;
    }
    try {
        runtime::delete_container(runtime::StateRoot(c_.runtime_root), c_.id, true);
    } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): as a failed delete process
    }
}

void Monitor::start_runtime_delete() {
    runtime_delete_ = std::async(std::launch::async, [this] { delete_in_runtime(); });
}

void Monitor::wait_for_runtime_delete() {
    if (runtime_delete_.valid()) runtime_delete_.get();
}

void Monitor::finish() {
    done_ = true;
    slirp4netns_.stop();
    // The cleanup first: until the monitor's pid leaves the row, a new start waits for it
    // (it would otherwise race this cleanup for the network namespace).
    bool local = c_.local_cleanup;
    std::string trash;  // --rm: the container's directory, deleted once the exit is reported
    if (local) {
        ContainerLock lock(c_.bundle);
        if (c_.autoremove) release_rootfs(c_.bundle, true);
        local = release_networks();
        if (local) {
            remove_netns(c_.netns);
            wait_for_runtime_delete();
            if (c_.autoremove)
                trash = unlist_container_files(db().database(),
                                               {c_.id, c_.bundle, c_.volume_dirs, c_.volume_names});
        }
    }
    wait_for_runtime_delete();
    // The container's cgroup is gone: ours and the parent go too (before the cleanup command,
    // which would be born in ours).
    cgroup_.leave();
    if (!local && !c_.cleanup.empty()) run_subprocess(c_.cleanup);
    if (!(local && c_.autoremove)) {  // else the row is gone already
        db().modify_state(c_.id, [&](ContainerState& s) {
            s.monitor_pid = 0;
            s.monitor_start = 0;
        });
    }
    for (auto& client : clients_)
        if (client)
            attach::send(client.get(), attach::Frame::exit_code, std::to_string(exit_code_));
    clients_.clear();
    delete_trash_entry(trash);
}

}  // namespace

int classify_start_error(const std::string& message) {
    std::string text = lower(message);
    if (text.find("exec") == std::string::npos) return 125;
    if (text.find("no such file or directory") != std::string::npos ||
        text.find("not found") != std::string::npos)
        return 127;
    if (text.find("permission denied") != std::string::npos ||
        text.find("is a directory") != std::string::npos ||
        text.find("exec format error") != std::string::npos)
        return 126;
    return 125;
}

// The msg="..." of the last line of the runtime's text log.
std::string last_runtime_error(const std::string& log_path) {
    auto text = read_file_if_exists(log_path);
    if (!text || text->empty()) return {};
    std::vector<std::string> lines = split(*text, '\n');
    for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
        if (it->empty()) continue;
        size_t at = it->find("msg=\"");
        if (at == std::string::npos) return *it;
        std::string msg = it->substr(at + 5);
        if (!msg.empty() && msg.back() == '"') msg.pop_back();
        std::string out;
        for (size_t i = 0; i < msg.size(); ++i) {
            if (msg[i] == '\\' && i + 1 < msg.size()) ++i;
            out.push_back(msg[i]);
        }
        return out;
    }
    return {};
}

int run_monitor(const MonitorConfig& config, int sync_fd) {
    Monitor monitor(config, sync_fd);
    return monitor.run();
}

}  // namespace berth::engine
