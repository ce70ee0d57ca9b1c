#include "engine/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

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

SubprocessResult run_subprocess(const std::vector<std::string>& argv,
                                const SubprocessOptions& options) {
    UniqueFd in_r, in_w, out_r, out_w, err_r, err_w;
    make_pipe(in_r, in_w);
    if (options.capture_stdout) make_pipe(out_r, out_w);
    if (options.capture_stderr) make_pipe(err_r, err_w);
    std::vector<std::string> args = argv;
    std::vector<char*> c_args = c_string_array(args);
    std::vector<std::string> env = options.env;
    std::vector<char*> c_env = c_string_array(env);

    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
        auto place = [](int fd, int target) {
            if (fd >= 0) ::dup2(fd, target);
        };
        int devnull = ::open("/dev/null", O_RDWR);
        place(options.stdin_fd >= 0 ? options.stdin_fd
                                    : (options.input.empty() ? devnull : in_r.get()),
              0);
        place(options.stdout_fd >= 0 ? options.stdout_fd : (out_w ? out_w.get() : devnull), 1);
        place(options.stderr_fd >= 0 ? options.stderr_fd : (err_w ? err_w.get() : devnull), 2);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        if (options.env.empty())
            ::execvp(c_args[0], c_args.data());
        else
            ::execvpe(c_args[0], c_args.data(), c_env.data());
        const char* message = "exec failed\n";
        (void)!::write(2, message, 12);
        ::_exit(errno == ENOENT ? 127 : 126);
    }
    in_r.reset();
    out_w.reset();
    err_w.reset();
    // Small inputs (network configs, process specs) fit in the pipe buffer. A child that
    // exits at once (a plugin that cannot be exec'd) makes this an EPIPE, not a SIGPIPE.
    if (!options.input.empty()) write_to_pipe(in_w.get(), options.input);
    in_w.reset();

    SubprocessResult result;
    auto deadline = options.timeout ? std::chrono::steady_clock::now() + *options.timeout
                                    : std::chrono::steady_clock::time_point::max();
    while (out_r || err_r) {
        pollfd fds[2];
        int n = 0;
        if (out_r) fds[n++] = {out_r.get(), POLLIN, 0};
        if (err_r) fds[n++] = {err_r.get(), POLLIN, 0};
        int wait_ms = -1;
        if (options.timeout) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            wait_ms = static_cast<int>(std::max<int64_t>(0, left.count()));
        }
        int ready = ::poll(fds, static_cast<nfds_t>(n), wait_ms);
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0) {
            ::kill(pid, SIGKILL);
            out_r.reset();
            err_r.reset();
            break;
        }
        for (int i = 0; i < n; ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char buffer[8192];
            ssize_t got = ::read(fds[i].fd, buffer, sizeof buffer);
            UniqueFd& source = fds[i].fd == out_r.get() ? out_r : err_r;
            std::string& sink = fds[i].fd == out_r.get() ? result.out : result.err;
            if (got > 0)
                sink.append(buffer, static_cast<size_t>(got));
            else if (got == 0 || errno != EINTR)
                source.reset();
        }
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.exit_code = decode_wait_status(status);
    return result;
}

}  // namespace berth::engine
