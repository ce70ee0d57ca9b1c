#include "runtime/start_socket.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/strings.hpp"
#include "runtime/exec_outcome.hpp"

namespace berth::runtime {
namespace {

sockaddr_un address_in(int dir_fd) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::string path = "/proc/self/fd/" + std::to_string(dir_fd) + "/" + kStartSocketName;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return addr;
}

}  // namespace

UniqueFd listen_for_start(int state_dir_fd) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) throw_errno("socket");
    sockaddr_un addr = address_in(state_dir_fd);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
        throw_errno("bind the start socket", kStartSocketName);
    if (::listen(fd.get(), 1) < 0) throw_errno("listen on the start socket");
    return fd;
}

StartRequest wait_for_start_request(int listen_fd) {
    StartRequest request;
    int conn;
    do {
        conn = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    } while (conn < 0 && errno == EINTR);
    if (conn < 0) throw_errno("wait for start");
    request.connection.reset(conn);
    char buf[32] = {};
    ssize_t n;
    do {
        n = ::read(conn, buf, sizeof buf - 1);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) throw_errno("read the start request");
    request.host_pid = static_cast<pid_t>(
        parse_int64(trim(std::string_view(buf, static_cast<size_t>(n)))).value_or(0));
    return request;
}

void request_start(int state_dir_fd, pid_t init_pid, const std::string& id) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) throw_errno("socket");
    sockaddr_un addr = address_in(state_dir_fd);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
        if (errno == ECONNREFUSED || errno == ENOENT)
            throw Error("cannot start container \"" + id + "\": its init is gone");
        throw_errno("connect to the start socket of container \"" + id + "\"");
    }
    write_all(fd.get(), std::to_string(init_pid), "start socket");
    std::string reply = read_fd(fd.get(), "start socket");
    if (!reply.empty()) throw Error(reply);
    // The end of file: the init exec'd, or died without a word (exec_outcome.hpp).
    if (auto death = death_before_exec(init_pid, {})) throw Error(*death);
}

}  // namespace berth::runtime
