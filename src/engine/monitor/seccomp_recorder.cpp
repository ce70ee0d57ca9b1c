#include "engine/monitor/seccomp_recorder.hpp"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <bitset>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/log.hpp"

namespace berth::engine {
namespace {

constexpr uint32_t kX32Bit = 0x40000000;
constexpr size_t kMaxNr = 1024;

struct ArchInfo {
    uint32_t token;  // libseccomp's, for name lookups
    const char* name;
};
// x86_64, i386, x32 (x86_64's audit arch with the x32 bit in the number)
constexpr ArchInfo kArchInfo[] = {{SCMP_ARCH_X86_64, "SCMP_ARCH_X86_64"},
                                  {SCMP_ARCH_X86, "SCMP_ARCH_X86"},
                                  {SCMP_ARCH_X32, "SCMP_ARCH_X32"}};

int receive_listener(int connection) {
    char data[4096];
    iovec iov{data, sizeof data};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    if (::recvmsg(connection, &msg, MSG_CMSG_CLOEXEC) <= 0) return -1;
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS) return -1;
    int fd = -1;
    std::memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
    return fd;
}

struct FreeDeleter {
    void operator()(char* p) const noexcept {
        // NOLINTNEXTLINE(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory): libseccomp's
        std::free(p);
    }
};

struct Recording {
    std::bitset<kMaxNr> seen[3];
    bool arch_seen[3] = {false, false, false};
};

void write_profile_file(const Recording& r, const std::string& output) {
    nlohmann::ordered_json archs = nlohmann::ordered_json::array();
    std::set<std::string> names;
    for (size_t a = 0; a < 3; ++a) {
        if (!r.arch_seen[a]) continue;
        archs.push_back(kArchInfo[a].name);
        for (uint32_t nr = 0; nr < kMaxNr; ++nr) {
            if (!r.seen[a].test(nr)) continue;
            int number = static_cast<int>(a == 2 ? (nr | kX32Bit) : nr);
            // libseccomp returns a malloc'd name.
            std::unique_ptr<char, FreeDeleter> name(
                seccomp_syscall_resolve_num_arch(kArchInfo[a].token, number));
            if (name) names.insert(name.get());
        }
    }
    if (archs.empty()) archs.push_back("SCMP_ARCH_X86_64");
    nlohmann::ordered_json profile = {
        {"defaultAction", "SCMP_ACT_ERRNO"},
        {"defaultErrnoRet", 1},
        {"architectures", archs},
        {"syscalls", nlohmann::ordered_json::array(
                         {{{"names", std::vector<std::string>(names.begin(), names.end())},
                           {"action", "SCMP_ACT_ALLOW"}}})}};
    try {
        // A regular file is replaced atomically; a device or pipe is written to, never
        // renamed over.
        struct stat st {};
        if (::stat(output.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
            write_file(output, profile.dump(2) + "\n");
        else
            write_file_atomic(output, profile.dump(2) + "\n", 0644);
    } catch (const std::exception& e) {
        log::error(std::string("seccomp=record: ") + e.what());
    }
}

// The recorder process: fds 3 (listening socket), 4 (control: 'w' = write the profile now,
// EOF = the monitor is done), 5 (status: 'd' once written).
[[noreturn]] void serve(const std::string& output) {
    constexpr int kListen = 3, kControl = 4, kStatus = 5;
    seccomp_notif_sizes sizes{};
    if (::syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0) _exit(1);
    std::vector<unsigned char> request_buffer(
        std::max<size_t>(sizes.seccomp_notif, sizeof(seccomp_notif)));
    std::vector<unsigned char> response_buffer(
        std::max<size_t>(sizes.seccomp_notif_resp, sizeof(seccomp_notif_resp)));
    auto* request = reinterpret_cast<seccomp_notif*>(request_buffer.data());
    auto* response = reinterpret_cast<seccomp_notif_resp*>(response_buffer.data());
    Recording recording;
    std::vector<int> listeners;
    bool write_pending = false;
    bool monitor_gone = false;
    auto deadline = std::chrono::steady_clock::time_point::max();
    for (;;) {
        if (write_pending && (listeners.empty() || std::chrono::steady_clock::now() >= deadline)) {
            write_profile_file(recording, output);
            write_pending = false;
            (void)!::write(kStatus, "d", 1);
        }
        if (monitor_gone && !write_pending) _exit(0);
        std::vector<pollfd> fds;
        fds.push_back({kListen, POLLIN, 0});
        fds.push_back({monitor_gone ? -1 : kControl, POLLIN, 0});
        for (int fd : listeners)
            fds.push_back({fd, POLLIN, 0});
        int timeout = -1;
        if (write_pending) timeout = 10;
        int n = ::poll(fds.data(), fds.size(), timeout);
        if (n < 0) {
            if (errno == EINTR) continue;
            _exit(1);
        }
        if (fds[1].revents & (POLLIN | POLLHUP)) {
            char c = 0;
            ssize_t got = ::read(kControl, &c, 1);
            if (got <= 0) {
                monitor_gone = true;
            } else if (c == 'w') {
                write_pending = true;
                deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
            }
        }
        if (fds[0].revents & POLLIN) {
            int connection = ::accept4(kListen, nullptr, nullptr, SOCK_CLOEXEC);
            if (connection >= 0) {
                int fd = receive_listener(connection);
                ::close(connection);
                if (fd >= 0) listeners.push_back(fd);
            }
        }
        std::vector<int> still;
        for (size_t i = 0; i < listeners.size(); ++i) {
            short revents = fds[i + 2].revents;
            int fd = listeners[i];
            if (revents & POLLIN) {
                std::memset(request, 0, request_buffer.size());
                if (::ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, request) == 0) {
                    uint32_t nr = static_cast<uint32_t>(request->data.nr);
                    int arch = -1;
                    if (request->data.arch == AUDIT_ARCH_X86_64) arch = (nr & kX32Bit) ? 2 : 0;
                    if (request->data.arch == AUDIT_ARCH_I386) arch = 1;
                    if (arch >= 0) {
                        nr &= ~kX32Bit;
                        if (nr < kMaxNr) recording.seen[arch].set(nr);
                        recording.arch_seen[arch] = true;
                    }
                    std::memset(response, 0, response_buffer.size());
                    response->id = request->id;
                    response->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
                    // ENOENT: the caller died meanwhile; nothing to answer.
                    (void)::ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, response);
                }
            }
            if (revents & (POLLHUP | POLLERR | POLLNVAL)) {
                ::close(fd);  // no process uses that filter any more
                continue;
            }
            still.push_back(fd);
        }
        listeners = std::move(still);
    }
}

}  // namespace

SeccompRecorder::SeccompRecorder(std::string socket_path, const std::string& output)
    : socket_path_(std::move(socket_path)) {
    ::unlink(socket_path_.c_str());
    UniqueFd listening(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!listening) throw_errno("socket for the seccomp recorder");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path_.size() >= sizeof addr.sun_path)
        throw Error("seccomp recorder: socket path too long: " + socket_path_);
    std::memcpy(addr.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
    if (::bind(listening.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
        throw_errno("bind", socket_path_);
    if (::listen(listening.get(), 8) < 0) throw_errno("listen", socket_path_);
    int control[2], status[2];
    if (::pipe2(control, O_CLOEXEC) < 0 || ::pipe2(status, O_CLOEXEC) < 0)
        throw_errno("pipe for the seccomp recorder");
    UniqueFd control_read(control[0]), status_write(status[1]);
    control_.reset(control[1]);
    status_.reset(status[0]);
    pid_ = ::fork();
    if (pid_ < 0) throw_errno("fork the seccomp recorder");
    if (pid_ == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        // Its three fds at 3, 4, 5 and nothing else of the monitor's (the CLI's pipes, the
        // container's stdio): above the range first, so that no dup2 clobbers another.
        int a = ::fcntl(listening.get(), F_DUPFD, 100);
        int b = ::fcntl(control_read.get(), F_DUPFD, 100);
        int c = ::fcntl(status_write.get(), F_DUPFD, 100);
        if (a < 0 || b < 0 || c < 0 || ::dup2(a, 3) < 0 || ::dup2(b, 4) < 0 || ::dup2(c, 5) < 0)
            _exit(1);
        ::close_range(6, ~0U, 0);
        serve(output);
    }
}

SeccompRecorder::~SeccompRecorder() {
    control_.reset();  // EOF: the recorder exits (the monitor reaps it, or init does)
    ::unlink(socket_path_.c_str());
}

void SeccompRecorder::write_profile() {
    if (::write(control_.get(), "w", 1) != 1) return;
    pollfd p{status_.get(), POLLIN, 0};
    if (::poll(&p, 1, 5000) > 0) {
        char c;
        (void)!::read(status_.get(), &c, 1);
    } else {
        log::warn("seccomp=record: the recorder did not write " + socket_path_ +
                  "'s profile in time");
    }
}

}  // namespace berth::engine
