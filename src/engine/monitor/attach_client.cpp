#include "engine/monitor/attach_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <string>

#include "common/file.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"
#include "engine/monitor/attach_protocol.hpp"

namespace berth::engine {
namespace {

// Raw mode on our terminal for the session; restored when destroyed.
class RawTerminal {
  public:
    explicit RawTerminal(int fd) : fd_(fd) {
        if (::tcgetattr(fd_, &saved_) != 0) return;
        termios raw = saved_;
        ::cfmakeraw(&raw);
        raw.c_oflag |= OPOST;  // keep \n -> \r\n for our own messages
        active_ = ::tcsetattr(fd_, TCSANOW, &raw) == 0;
    }
    ~RawTerminal() {
        if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
    }
    RawTerminal(const RawTerminal&) = delete;
    RawTerminal& operator=(const RawTerminal&) = delete;

  private:
    int fd_;
    termios saved_{};
    bool active_ = false;
};

void send_size(int sock) {
    winsize ws{};
    if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0) return;
    attach::send(sock, attach::Frame::resize,
                 std::to_string(ws.ws_row) + " " + std::to_string(ws.ws_col));
}

}  // namespace

int attach_session(int sock, bool tty, bool forward_stdin,
                   const std::function<void(int)>& forward_signal) {
    bool terminal = tty && ::isatty(STDIN_FILENO);
    std::optional<RawTerminal> raw;
    if (terminal) raw.emplace(STDIN_FILENO);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGWINCH);
    // Without a terminal, ^C reaches us and not the container: pass it on (docker's
    // sig-proxy). With one, the container's terminal gets the keys itself.
    if (forward_signal && !terminal)
        for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2})
            sigaddset(&mask, sig);
    ::sigprocmask(SIG_BLOCK, &mask, nullptr);
    UniqueFd winch(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    if (terminal) send_size(sock);

    attach::Decoder decoder;
    bool stdin_open = forward_stdin;
    while (true) {
        pollfd fds[3] = {{sock, POLLIN, 0},
                         {stdin_open ? STDIN_FILENO : -1, POLLIN, 0},
                         {winch.get(), POLLIN, 0}};
        if (::poll(fds, 3, -1) < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (fds[2].revents & POLLIN) {
            signalfd_siginfo info{};
            while (::read(winch.get(), &info, sizeof info) == sizeof info) {
                auto sig = static_cast<int>(info.ssi_signo);
                if (sig == SIGWINCH) {
                    if (terminal) send_size(sock);
                } else if (forward_signal) {
                    forward_signal(sig);
                }
            }
        }
        if (fds[1].revents) {
            char buffer[8192];
            ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
            if (n > 0) {
                attach::send(sock, attach::Frame::stdin_data,
                             std::string_view(buffer, static_cast<size_t>(n)));
            } else if (n == 0 || errno != EINTR) {
                stdin_open = false;
                attach::send(sock, attach::Frame::stdin_close, "");
            }
        }
        if (fds[0].revents) {
            char buffer[65536];
            ssize_t n = ::read(sock, buffer, sizeof buffer);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return -1;
            decoder.feed(buffer, static_cast<size_t>(n));
            while (auto m = decoder.next()) {
                switch (m->type) {
                    case attach::Frame::stdout_data:
                        write_all(STDOUT_FILENO, m->payload, "stdout");
                        break;
                    case attach::Frame::stderr_data:
                        write_all(STDERR_FILENO, m->payload, "stderr");
                        break;
                    case attach::Frame::exit_code:
                        return static_cast<int>(parse_int64(m->payload).value_or(-1));
                    default:
                        break;
                }
            }
        }
    }
}

}  // namespace berth::engine
