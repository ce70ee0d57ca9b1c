#include "runtime/hooks.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"

namespace berth::runtime {
namespace {

void run_one(const oci::Hook& hook, const std::string& state_json, const char* phase,
             size_t index) {
    std::string what =
        std::string(phase) + " hook " + std::to_string(index) + " (" + hook.path + ")";
    int in[2], err[2];
    if (::pipe2(in, O_CLOEXEC) < 0) throw_errno("pipe");
    UniqueFd in_read(in[0]), in_write(in[1]);
    if (::pipe2(err, O_CLOEXEC) < 0) throw_errno("pipe");
    UniqueFd err_read(err[0]), err_write(err[1]);

    std::vector<std::string> args =
        hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
    std::vector<std::string> env = hook.env;
    auto argv = c_string_array(args);
    auto envp = c_string_array(env);

    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork for", what);
    if (pid == 0) {
        ::dup2(in_read.get(), 0);
        ::dup2(err_write.get(), 2);
        int devnull = ::open("/dev/null", O_WRONLY);
        if (devnull >= 0) ::dup2(devnull, 1);
        sigset_t all;
        sigemptyset(&all);
        ::sigprocmask(SIG_SETMASK, &all, nullptr);
        ::execve(hook.path.c_str(), argv.data(), envp.data());
        dprintf(2, "exec %s: %s", hook.path.c_str(), strerror(errno));
        _exit(127);
    }
    in_read.reset();
    err_write.reset();
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    // The state is small; a hook that doesn't read stdin must not block us.
    ::fcntl(in_write.get(), F_SETFL, O_NONBLOCK);
    // A hook may exit without reading its stdin: EPIPE then, not a SIGPIPE that kills the
    // runtime (at once, or when a foreground `run` unblocks its signals).
    write_to_pipe(in_write.get(), state_json);
    in_write.reset();

    std::string stderr_text;
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(hook.timeout.value_or(0));
    bool timed_out = false;
    for (;;) {
        int timeout_ms = -1;
        if (hook.timeout) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            timeout_ms = static_cast<int>(std::max<int64_t>(0, left.count()));
        }
        pollfd fds[2] = {{pidfd.get(), POLLIN, 0}, {err_read.get(), POLLIN, 0}};
        int nfds = err_read ? 2 : 1;
        int r = ::poll(fds, static_cast<nfds_t>(nfds), timeout_ms);
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) {
            timed_out = true;
            ::kill(pid, SIGKILL);
            break;
        }
        if (nfds == 2 && (fds[1].revents & (POLLIN | POLLHUP))) {
            char buf[1024];
            ssize_t n = ::read(err_read.get(), buf, sizeof buf);
            if (n > 0) {
                if (stderr_text.size() < 4096) stderr_text.append(buf, static_cast<size_t>(n));
            } else {
                err_read.reset();
            }
        }
        if (fds[0].revents & POLLIN) break;
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    while (!stderr_text.empty() && (stderr_text.back() == '\n' || stderr_text.back() == ' '))
        stderr_text.pop_back();
    for (auto& c : stderr_text)
        if (c == '\n') c = ' ';
    std::string detail = stderr_text.empty() ? "" : ": " + stderr_text;
    if (timed_out) throw Error(what + " timed out after " + std::to_string(*hook.timeout) + "s");
    if (WIFSIGNALED(status))
        throw Error(what + " killed by signal " + std::to_string(WTERMSIG(status)) + detail);
    if (WEXITSTATUS(status) != 0)
        throw Error(what + " exited with status " + std::to_string(WEXITSTATUS(status)) + detail);
}

}  // namespace

void run_hooks(const std::vector<oci::Hook>& hooks, const oci::State& state, const char* phase) {
    if (hooks.empty()) return;
    std::string state_json = oci::to_json(state).dump();
    for (size_t i = 0; i < hooks.size(); ++i)
        run_one(hooks[i], state_json, phase, i);
}

void run_hooks_warn(const std::vector<oci::Hook>& hooks, const oci::State& state,
                    const char* phase) {
    try {
        run_hooks(hooks, state, phase);
    } catch (const std::exception& e) {
        log::warn(e.what());
    }
}

}  // namespace berth::runtime
