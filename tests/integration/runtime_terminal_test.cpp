// process.terminal: the pty master goes to --console-socket over SCM_RIGHTS (what
// containerd and podman expect), or is proxied to our stdio in the foreground.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "support/fixture.hpp"

using namespace berth::test;

namespace {

// A console socket server that accepts one connection and receives one fd.
class ConsoleSocket {
  public:
    explicit ConsoleSocket(const std::string& path) : path_(path) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 ||
            ::listen(fd_, 1) < 0)
            throw std::runtime_error("console socket");
    }
    ~ConsoleSocket() {
        ::close(fd_);
        if (master_ >= 0) ::close(master_);
        ::unlink(path_.c_str());
    }
    // Returns the received fd, or -1.
    int receive(std::chrono::milliseconds timeout) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return -1;
        int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        char data[256];
        iovec iov{data, sizeof data};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        if (::recvmsg(conn, &msg, MSG_CMSG_CLOEXEC) > 0) {
            cmsghdr* c = CMSG_FIRSTHDR(&msg);
            if (c && c->cmsg_type == SCM_RIGHTS)
                std::memcpy(&master_, CMSG_DATA(c), sizeof master_);
        }
        ::close(conn);
        return master_;
    }

  private:
    std::string path_;
    int fd_ = -1;
    int master_ = -1;
};

std::string read_until(int fd, const std::string& marker, std::chrono::milliseconds timeout) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.find(marker) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) != 1) continue;
        char buf[1024];
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

}  // namespace

TEST(Terminal, ConsoleSocketReceivesAWorkingPtyMaster) {
    Runtime runtime;
    TempDir dir;
    ConsoleSocket console(dir.path() + "/console.sock");
    Bundle bundle({"sh"});
    bundle.config()["process"]["terminal"] = true;
    bundle.config()["process"]["consoleSize"] = {{"height", 40}, {"width", 123}};
    bundle.write();
    std::string id = unique_id("tty");
    ContainerGuard guard(runtime, id);
    std::thread create([&] {
        auto r = runtime({"create", "--bundle", bundle.path(), "--console-socket",
                          dir.path() + "/console.sock", id});
        EXPECT_EQ(r.exit_code, 0) << r.describe();
    });
    int master = console.receive(std::chrono::seconds(10));
    create.join();
    ASSERT_GE(master, 0) << "no pty master arrived on the console socket";
    ASSERT_EQ(runtime({"start", id}).exit_code, 0);
    std::string cmd = "tty; stty size; echo done-$((6*7))\n";
    ASSERT_EQ(::write(master, cmd.data(), cmd.size()), static_cast<ssize_t>(cmd.size()));
    std::string out = read_until(master, "done-42", std::chrono::seconds(10));
    EXPECT_NE(out.find("/dev/pts/0"), std::string::npos) << out;
    EXPECT_NE(out.find("40 123"), std::string::npos) << out;
    EXPECT_NE(out.find("done-42"), std::string::npos) << out;
    EXPECT_EQ(runtime({"kill", id, "KILL"}).exit_code, 0);
}

TEST(Terminal, ExecWithTtyThroughConsoleSocket) {
    Runtime runtime;
    Bundle bundle({"sleep", "300"});
    std::string id = unique_id("exectty");
    ContainerGuard guard(runtime, id);
    ASSERT_EQ(runtime({"run", "-d", "--bundle", bundle.path(), id}).exit_code, 0);
    TempDir dir;
    ConsoleSocket console(dir.path() + "/console.sock");
    std::thread exec([&] {
        auto r = runtime({"exec", "--tty", "--detach", "--console-socket",
                          dir.path() + "/console.sock", id, "sh", "-c", "tty; echo exec-done"});
        EXPECT_EQ(r.exit_code, 0) << r.describe();
    });
    int master = console.receive(std::chrono::seconds(10));
    exec.join();
    ASSERT_GE(master, 0);
    std::string out = read_until(master, "exec-done", std::chrono::seconds(10));
    EXPECT_NE(out.find("/dev/pts/"), std::string::npos) << out;
    EXPECT_NE(out.find("exec-done"), std::string::npos) << out;
}

TEST(Terminal, ForegroundRunProxiesThePty) {
    Runtime runtime;
    Bundle bundle({"sh", "-c", "tty; echo proxied"});
    bundle.config()["process"]["terminal"] = true;
    bundle.write();
    std::string id = unique_id("fgtty");
    ContainerGuard guard(runtime, id);
    // script(1) gives berth-runtime a terminal of its own, as a user's shell would.
    std::string cmd = runtime_binary() + " --root " + runtime.state_root() + " run --bundle " +
                      bundle.path() + " " + id;
    auto r = run_command({"script", "-qec", cmd, "/dev/null"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_NE(r.out.find("/dev/pts/0"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("proxied"), std::string::npos) << r.out;
}

TEST(Terminal, DetachedTerminalWithoutConsoleSocketIsRefused) {
    Runtime runtime;
    Bundle bundle({"sh"});
    bundle.config()["process"]["terminal"] = true;
    bundle.write();
    std::string id = unique_id("nosock");
    ContainerGuard guard(runtime, id);
    auto r = runtime({"create", "--bundle", bundle.path(), id});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("--console-socket"), std::string::npos) << r.err;
}
