#include "runtime/sync_socket.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/error.hpp"

namespace berth::runtime {

namespace {
struct Header {
    uint32_t type;
    uint32_t pad;
    int64_t value;
};
constexpr size_t kMaxText = 8192;
}  // namespace

std::pair<SyncSocket, SyncSocket> SyncSocket::make_pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0) throw_errno("socketpair");
    return {SyncSocket(UniqueFd(fds[0])), SyncSocket(UniqueFd(fds[1]))};
}

void SyncSocket::send(SyncType type, int64_t value, const std::string& text) const {
    std::vector<char> buf(sizeof(Header) + std::min(text.size(), kMaxText));
    Header h{static_cast<uint32_t>(type), 0, value};
    std::memcpy(buf.data(), &h, sizeof h);
    std::memcpy(buf.data() + sizeof h, text.data(), buf.size() - sizeof h);
    ssize_t n;
    do {
        n = ::send(fd_.get(), buf.data(), buf.size(), MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw_errno("send to container process");
}

bool SyncSocket::send_error(const std::string& text) const noexcept {
    try {
        send(SyncType::error, 0, text);
        return true;
    } catch (...) {
        // The other side is gone, or a seccomp filter denies the call: the exit status tells
        // the rest.
        return false;
    }
}

SyncMessage SyncSocket::receive(bool* eof) const {
    std::vector<char> buf(sizeof(Header) + kMaxText);
    ssize_t n;
    do {
        n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw_errno("receive from container process");
    if (eof) *eof = (n == 0);
    SyncMessage msg;
    if (n == 0) return msg;
    if (static_cast<size_t>(n) < sizeof(Header))
        throw Error("short message from container process");
    Header h{};
    std::memcpy(&h, buf.data(), sizeof h);
    msg.type = static_cast<SyncType>(h.type);
    msg.value = h.value;
    msg.text.assign(buf.data() + sizeof h, static_cast<size_t>(n) - sizeof h);
    if (msg.type == SyncType::error) throw Error(msg.text);
    return msg;
}

SyncMessage SyncSocket::expect(SyncType type, const char* what) const {
    bool eof = false;
    SyncMessage msg = receive(&eof);
    if (eof) throw Error(std::string("container process exited before ") + what);
    if (msg.type != type)
        throw Error(std::string("unexpected message from container process while ") + what);
    return msg;
}

}  // namespace berth::runtime
