#include "runtime/foreground.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "runtime/terminal.hpp"

namespace berth::runtime {

sigset_t block_all_signals() {
    sigset_t all, old;
    sigfillset(&all);
    if (::sigprocmask(SIG_BLOCK, &all, &old) < 0) throw_errno("sigprocmask");
    return old;
}

int exit_code_from_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 255;
}

namespace {

// Copies what is readable from `from` to `to`; false at EOF or error of `from`.
bool pump(int from, int to) {
    char buf[16384];
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
    if (n <= 0) return false;
    const char* p = buf;
    while (n > 0) {
        ssize_t w = ::write(to, p, static_cast<size_t>(n));
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                pollfd out{to, POLLOUT, 0};
                ::poll(&out, 1, 100);
                continue;
            }
            return true;  // the reader went away; keep draining the source
        }
        p += w;
        n -= w;
    }
    return true;
}

}  // namespace

void reap_children() {
    for (int i = 0; i < 1000; ++i) {
        pid_t pid = ::waitpid(-1, nullptr, WNOHANG);
        if (pid < 0) return;  // ECHILD: none left
        if (pid == 0) ::usleep(1000);
    }
}

int wait_in_foreground(pid_t target, int pty_master) {
    sigset_t all;
    sigfillset(&all);
    UniqueFd sigfd(::signalfd(-1, &all, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!sigfd) throw_errno("signalfd");

    std::optional<RawTerminal> raw;
    bool stdin_open = pty_master >= 0;
    if (pty_master >= 0) {
        if (::isatty(STDIN_FILENO)) {
            raw.emplace(STDIN_FILENO);
            copy_window_size(STDIN_FILENO, pty_master);
        }
        ::fcntl(pty_master, F_SETFL, ::fcntl(pty_master, F_GETFL) | O_NONBLOCK);
    }

    bool master_open = pty_master >= 0;
    int status = -1;
    bool exited = false;
    while (!exited || master_open) {
        pollfd fds[3];
        nfds_t n = 0;
        fds[n++] = {sigfd.get(), POLLIN, 0};
        int master_index = -1, stdin_index = -1;
        if (master_open) {
            master_index = static_cast<int>(n);
            fds[n++] = {pty_master, POLLIN, 0};
        }
        if (stdin_open && !exited) {
            stdin_index = static_cast<int>(n);
            fds[n++] = {STDIN_FILENO, POLLIN, 0};
        }
        // Once the process is gone, only drain what its terminal still holds.
        int r = ::poll(fds, n, exited ? 50 : -1);
        if (r < 0) {
            if (errno == EINTR) continue;
            throw_errno("poll");
        }
        if (r == 0 && exited) break;
        if (fds[0].revents & POLLIN) {
            signalfd_siginfo info{};
            while (::read(sigfd.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
                int sig = static_cast<int>(info.ssi_signo);
                if (sig == SIGCHLD) {
                    int st = 0;
                    pid_t pid;
                    while ((pid = ::waitpid(-1, &st, WNOHANG)) > 0) {
                        if (pid == target) {
                            status = st;
                            exited = true;
                        }
                    }
                } else if (sig == SIGWINCH && pty_master >= 0) {
                    copy_window_size(STDIN_FILENO, pty_master);
                } else if (!exited) {
                    ::kill(target, sig);
                }
            }
        }
        if (master_index >= 0 && (fds[master_index].revents & (POLLIN | POLLHUP | POLLERR))) {
            if (!pump(pty_master, STDOUT_FILENO)) master_open = false;
        }
        if (stdin_index >= 0 && (fds[stdin_index].revents & (POLLIN | POLLHUP | POLLERR))) {
            if (!pump(STDIN_FILENO, pty_master)) {
                stdin_open = false;
                // EOF on our stdin: pass it on as the terminal's EOF character.
                char eof = 4;
                ssize_t unused = ::write(pty_master, &eof, 1);
                (void)unused;
            }
        }
    }
    return exit_code_from_status(status);
}

}  // namespace berth::runtime
