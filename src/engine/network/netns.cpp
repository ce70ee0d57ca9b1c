#include "engine/network/netns.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"
#include "common/path.hpp"

namespace berth::engine {
namespace {

constexpr long kNsfsMagic = 0x6e736673;

void make_dirs(const std::string& path) {
    for (size_t i = 1; i <= path.size(); ++i)
        if (i == path.size() || path[i] == '/') {
            std::string partial = path.substr(0, i);
            if (::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST)
                throw_errno("mkdir", partial);
        }
}

}  // namespace

bool netns_exists(const std::string& path) {
    struct statfs fs {};
    return ::statfs(path.c_str(), &fs) == 0 && fs.f_type == kNsfsMagic;
}

void create_netns(const std::string& path) {
    make_dirs(parent_path(path));
    int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0444);
    if (fd < 0) throw_errno("create", path);
    ::close(fd);
    // A child unshares, so that this process keeps its own namespace; the mount it makes
    // is in the host's mount namespace, which it shares.
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
        if (::unshare(CLONE_NEWNET) != 0) ::_exit(1);
        // Loopback up, as every container expects (no CNI plugin run for that).
        int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ifreq request{};
        std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
        if (sock < 0 || ::ioctl(sock, SIOCGIFFLAGS, &request) != 0) ::_exit(3);
        request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
        if (::ioctl(sock, SIOCSIFFLAGS, &request) != 0) ::_exit(3);
        if (::mount("/proc/self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) != 0) ::_exit(2);
        ::_exit(0);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        ::unlink(path.c_str());
        throw Error("cannot create a network namespace at " + path);
    }
}

void remove_netns(const std::string& path) {
    if (path.empty()) return;
    while (::umount2(path.c_str(), MNT_DETACH) == 0) {
    }
    ::unlink(path.c_str());
}

}  // namespace berth::engine
