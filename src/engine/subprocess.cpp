#include "engine/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"

namespace berth::engine {
namespace {

void make_pipe(UniqueFd& read_end, UniqueFd& write_end) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe");
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
}

}  // namespace

int decode_wait_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

// posix_spawn's attributes and file actions, destroyed with it.
class SpawnSetup {
  public:
    SpawnSetup() {
        ::posix_spawn_file_actions_init(&actions);
        ::posix_spawnattr_init(&attributes);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;
    ~SpawnSetup() {
        ::posix_spawn_file_actions_destroy(&actions);
        ::posix_spawnattr_destroy(&attributes);
    }
    // Standard fd `target` of the child: `fd`, or /dev/null when fd < 0.
    void place(int fd, int target) {
        int rc = fd >= 0
                     ? ::posix_spawn_file_actions_adddup2(&actions, fd, target)
                     : ::posix_spawn_file_actions_addopen(&actions, target, "/dev/null", O_RDWR, 0);
        if (rc != 0) throw_system_error(rc, "posix_spawn file actions");
    }

    posix_spawn_file_actions_t actions{};
    posix_spawnattr_t attributes{};
};

Subprocess::Subprocess(const std::vector<std::string>& argv, const SubprocessOptions& options) {
    UniqueFd in_r, in_w, out_w, err_w;
    bool feed = options.stdin_fd < 0 && !options.input.empty();
    if (feed) make_pipe(in_r, in_w);
    if (options.stdout_fd < 0 && options.capture_stdout) make_pipe(out_, out_w);
    if (options.stderr_fd < 0 && options.capture_stderr) make_pipe(err_, err_w);

    SpawnSetup setup;
    setup.place(options.stdin_fd >= 0 ? options.stdin_fd : in_r.get(), 0);
    setup.place(options.stdout_fd >= 0 ? options.stdout_fd : out_w.get(), 1);
    setup.place(options.stderr_fd >= 0 ? options.stderr_fd : err_w.get(), 2);
    // The monitor blocks signals it reads through a signalfd; the child gets none blocked.
    sigset_t none;
    sigemptyset(&none);
    ::posix_spawnattr_setsigmask(&setup.attributes, &none);
    short flags = POSIX_SPAWN_SETSIGMASK;
    if (options.new_process_group) {
        ::posix_spawnattr_setpgroup(&setup.attributes, 0);
        flags |= POSIX_SPAWN_SETPGROUP;
    }
    ::posix_spawnattr_setflags(&setup.attributes, flags);

    std::vector<std::string> args = argv;
    std::vector<char*> c_args = c_string_array(args);
    std::vector<std::string> env = options.env;
    std::vector<char*> c_env = c_string_array(env);
    int rc = ::posix_spawnp(&pid_, c_args[0], &setup.actions, &setup.attributes, c_args.data(),
                            options.env.empty() ? environ : c_env.data());
    if (rc != 0) {
        // posix_spawn reports a failed exec itself: the result of a child that could not run.
        pid_ = -1;
        out_.reset();
        err_.reset();
        if (rc != ENOENT && rc != EACCES && rc != ENOEXEC && rc != ENOTDIR && rc != EISDIR &&
            rc != ELOOP && rc != ENAMETOOLONG && rc != ETXTBSY && rc != EPERM)
            throw_system_error(rc, "start", argv.at(0));
        result_.exit_code = rc == ENOENT || rc == ENOTDIR ? 127 : 126;
        result_.err = "exec " + argv.at(0) + ": " + std::strerror(rc);
        return;
    }
    in_r.reset();
    out_w.reset();
    err_w.reset();
    // Small inputs (network configs, process specs) fit in the pipe buffer. A child that
    // exits at once makes this an EPIPE, not a SIGPIPE.
    if (feed) write_to_pipe(in_w.get(), options.input);
    if (options.timeout) deadline_ = std::chrono::steady_clock::now() + *options.timeout;
}

Subprocess::~Subprocess() {
    if (pid_ <= 0) return;
    out_.reset();
    err_.reset();
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
}

SubprocessResult Subprocess::wait() {
    if (pid_ <= 0) return result_;
    while (out_ || err_) {
        pollfd fds[2];
        int n = 0;
        if (out_) fds[n++] = {out_.get(), POLLIN, 0};
        if (err_) fds[n++] = {err_.get(), POLLIN, 0};
        int wait_ms = -1;
        if (deadline_) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                *deadline_ - std::chrono::steady_clock::now());
            wait_ms = static_cast<int>(std::max<int64_t>(0, left.count()));
        }
        int ready = ::poll(fds, static_cast<nfds_t>(n), wait_ms);
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0) {
            ::kill(pid_, SIGKILL);
            out_.reset();
            err_.reset();
            break;
        }
        for (int i = 0; i < n; ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char buffer[8192];
            ssize_t got = ::read(fds[i].fd, buffer, sizeof buffer);
            UniqueFd& source = fds[i].fd == out_.get() ? out_ : err_;
            std::string& sink = fds[i].fd == out_.get() ? result_.out : result_.err;
            if (got > 0)
                sink.append(buffer, static_cast<size_t>(got));
            else if (got == 0 || errno != EINTR)
                source.reset();
        }
    }
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    result_.exit_code = decode_wait_status(status);
    return std::move(result_);
}

SubprocessResult run_subprocess(const std::vector<std::string>& argv,
                                const SubprocessOptions& options) {
    return Subprocess(argv, options).wait();
}

}  // namespace berth::engine
