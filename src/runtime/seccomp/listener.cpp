#include "runtime/seccomp/listener.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace berth::runtime::seccomp {

int next_descriptor() {
    int probe = ::fcntl(0, F_DUPFD_CLOEXEC, 0);
    if (probe < 0) probe = ::open("/dev/null", O_RDONLY | O_CLOEXEC);  // fd 0 closed: it is free
    if (probe < 0) throw_errno("finding a free descriptor for the seccomp listener");
    ::close(probe);
    return probe;
}

void forward_listener(pid_t pid, int fd_number, const oci::Seccomp& config,
                      const oci::State& state) {
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd) throw_errno("pidfd_open of the container process");
    // Until the process installed its filter the number is free there (EBADF).
    UniqueFd listener;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
        int fd = static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), fd_number, 0));
        if (fd >= 0) {
            listener.reset(fd);
            char link[64] = {};
            std::string path = "/proc/self/fd/" + std::to_string(fd);
            ssize_t n = ::readlink(path.c_str(), link, sizeof link - 1);
            if (n > 0 && std::strstr(link, "seccomp notify") != nullptr) break;
            listener.reset();  // something else still holds the number
        } else if (errno != EBADF) {
            throw_errno("pidfd_getfd of the seccomp listener");
        }
        if (std::chrono::steady_clock::now() > deadline)
            throw Error("the container process did not install its seccomp filter");
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }

    UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock) throw_errno("socket for linux.seccomp.listenerPath");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (config.listener_path.size() >= sizeof addr.sun_path)
        throw Error("linux.seccomp.listenerPath: " + config.listener_path + ": path too long");
    std::memcpy(addr.sun_path, config.listener_path.c_str(), config.listener_path.size() + 1);
    if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
        throw_errno("linux.seccomp.listenerPath: connect", config.listener_path);
    nlohmann::json message = {{"ociVersion", "1.2.0"},
                              {"fds", {"seccompFd"}},
                              {"pid", pid},
                              {"metadata", config.listener_metadata},
                              {"state", oci::to_json(state)}};
    std::string text = message.dump();
    msghdr msg{};
    iovec iov{text.data(), text.size()};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    int fd = listener.get();
    std::memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
    ssize_t n;
    do {
        n = ::sendmsg(sock.get(), &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw_errno("linux.seccomp.listenerPath: send", config.listener_path);
}

}  // namespace berth::runtime::seccomp
