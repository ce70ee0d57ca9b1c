#include "runtime/terminal.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"

namespace berth::runtime {

Pty open_pty() {
    int master = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) throw_errno("open", "/dev/ptmx");
    Pty pty{UniqueFd(master), {}};
    if (::unlockpt(master) < 0) throw_errno("unlockpt");
    // TIOCGPTPEER opens the peer through the master, never through a path.
    int slave = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) throw_errno("open pty peer");
    pty.slave.reset(slave);
    return pty;
}

void attach_terminal(int slave) {
    if (::ioctl(slave, TIOCSCTTY, 0) < 0) throw_errno("set controlling terminal");
    for (int fd = 0; fd <= 2; ++fd)
        if (::dup2(slave, fd) < 0) throw_errno("dup2 terminal");
}

void set_window_size(int fd, uint16_t rows, uint16_t columns) {
    winsize ws{};
    ws.ws_row = rows;
    ws.ws_col = columns;
    if (::ioctl(fd, TIOCSWINSZ, &ws) < 0) throw_errno("set terminal size");
}

void copy_window_size(int from, int to) {
    winsize ws{};
    if (::ioctl(from, TIOCGWINSZ, &ws) == 0) ::ioctl(to, TIOCSWINSZ, &ws);
}

UniqueFd connect_console_socket(const std::string& path) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) throw_errno("socket");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) throw Error("console socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
        throw_errno("connect to console socket", path);
    return fd;
}

void send_fd(int socket, int fd, const std::string& name) {
    msghdr msg{};
    iovec iov{const_cast<char*>(name.data()), name.size()};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
    ssize_t n;
    do {
        n = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw_errno("send terminal to console socket");
}

UniqueFd receive_fd(int socket) {
    msghdr msg{};
    char data[4096];
    iovec iov{data, sizeof data};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    do {
        n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw_errno("receive terminal");
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS)
        throw Error("no terminal received from the container");
    int fd;
    std::memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
    return UniqueFd(fd);
}

RawTerminal::RawTerminal(int fd) : fd_(fd) {
    termios t{};
    if (::tcgetattr(fd, &t) < 0) return;  // not a terminal: nothing to restore
    saved_ = t;
    ::cfmakeraw(&t);
    ::tcsetattr(fd, TCSANOW, &t);
}

RawTerminal::~RawTerminal() {
    if (saved_) ::tcsetattr(fd_, TCSANOW, &*saved_);
}

}  // namespace berth::runtime
