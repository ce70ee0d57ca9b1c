#include "support/command.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace berth::test {

extern "C" char** environ;

std::string CommandResult::describe() const {
    return "exit " + std::to_string(exit_code) + "\n--- stdout:\n" + out + "\n--- stderr:\n" + err;
}

namespace {

pid_t spawn(const std::vector<std::string>& argv, const CommandOptions& options, int in_fd,
            int out_fd, int err_fd) {
    // options.env replaces variables of the same name (getenv finds the first one).
    auto overridden = [&](const std::string& entry) {
        for (const auto& e : options.env) {
            auto eq = e.find('=');
            if (eq != std::string::npos && entry.compare(0, eq + 1, e, 0, eq + 1) == 0) return true;
        }
        return false;
    };
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e)
        if (!overridden(*e)) env_strings.emplace_back(*e);
    for (const auto& e : options.env)
        env_strings.push_back(e);
    std::vector<char*> envp, args;
    for (auto& e : env_strings)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_copy = argv;
    for (auto& a : argv_copy)
        args.push_back(a.data());
    args.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        ::setpgid(0, 0);
        if (in_fd >= 0) ::dup2(in_fd, 0);
        if (out_fd >= 0) ::dup2(out_fd, 1);
        if (err_fd >= 0) ::dup2(err_fd, 2);
        for (int fd : options.inherit_fds)
            ::fcntl(fd, F_SETFD, 0);
        if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) < 0) _exit(126);
        if (options.run_as_gid >= 0 &&
            (::setgroups(0, nullptr) < 0 ||
             ::setresgid(options.run_as_gid, options.run_as_gid, options.run_as_gid) < 0))
            _exit(126);
        if (options.run_as_uid >= 0 &&
            ::setresuid(options.run_as_uid, options.run_as_uid, options.run_as_uid) < 0)
            _exit(126);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execvpe(args[0], args.data(), envp.data());
        dprintf(2, "exec %s: %s\n", args[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

int decode(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv, const CommandOptions& options) {
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) < 0 || ::pipe2(out, O_CLOEXEC) < 0 || ::pipe2(err, O_CLOEXEC) < 0)
        throw std::runtime_error("pipe failed");
    pid_t pid = spawn(argv, options, in[0], out[1], err[1]);
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    std::thread writer([fd = in[1], input = options.input] {
        size_t off = 0;
        while (off < input.size()) {
            ssize_t n = ::write(fd, input.data() + off, input.size() - off);
            if (n <= 0) break;
            off += static_cast<size_t>(n);
        }
        ::close(fd);
    });
    CommandResult result;
    auto deadline = std::chrono::steady_clock::now() + options.timeout;
    bool out_open = true, err_open = true, timed_out = false, exited = false;
    int status = 0;
    while (out_open || err_open) {
        if (!exited) {
            pid_t r = ::waitpid(pid, &status, WNOHANG);
            if (r == pid) exited = true;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            ::kill(-pid, SIGKILL);
            ::kill(pid, SIGKILL);
            break;
        }
        pollfd fds[2] = {{out_open ? out[0] : -1, POLLIN, 0}, {err_open ? err[0] : -1, POLLIN, 0}};
        int r = ::poll(fds, 2, exited ? 50 : static_cast<int>(std::min<int64_t>(left.count(), 20)));
        if (r < 0 && errno != EINTR) break;
        if (r == 0 && exited) break;  // exited, and whoever still holds our pipes is quiet
        char buf[8192];
        for (int i = 0; i < 2; ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(n));
            } else {
                (i == 0 ? out_open : err_open) = false;
            }
        }
    }
    ::close(out[0]);
    ::close(err[0]);
    writer.join();
    while (!exited && ::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.exit_code = timed_out ? -1 : decode(status);
    return result;
}

std::string shell_quote(const std::string& word) {
    std::string quoted = "'";
    for (char c : word) {
        if (c == '\'')
            quoted += "'\\''";
        else
            quoted += c;
    }
    return quoted + "'";
}

CommandResult run_with_terminal(const std::vector<std::string>& argv,
                                const CommandOptions& options) {
    std::string line;
    for (const auto& word : argv)
        line += (line.empty() ? "" : " ") + shell_quote(word);
    return run_command({"script", "-qec", line, "/dev/null"}, options);
}

BackgroundCommand::BackgroundCommand(const std::vector<std::string>& argv,
                                     const CommandOptions& options) {
    int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    int out = -1;
    if (!options.output_path.empty()) {
        out = ::open(options.output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (out < 0) {
            ::close(devnull);
            throw std::runtime_error("open " + options.output_path + ": " + strerror(errno));
        }
    }
    pid_ = spawn(argv, options, devnull, out, out);
    ::close(devnull);
    if (out >= 0) ::close(out);
}

BackgroundCommand::~BackgroundCommand() {
    if (pid_ > 0 && !reaped_) {
        ::kill(-pid_, SIGKILL);
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
}

int BackgroundCommand::wait(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            reaped_ = true;
            return decode(status);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
}

void BackgroundCommand::signal(int sig) {
    ::kill(pid_, sig);
}

}  // namespace berth::test
