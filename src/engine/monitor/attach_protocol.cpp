#include "engine/monitor/attach_protocol.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace berth::engine::attach {

bool send(int fd, Frame type, std::string_view payload) {
    auto size = static_cast<uint32_t>(payload.size());
    std::string frame;
    frame.reserve(5 + payload.size());
    frame.push_back(static_cast<char>(type));
    for (int shift = 24; shift >= 0; shift -= 8)
        frame.push_back(static_cast<char>((size >> shift) & 0xff));
    frame.append(payload);
    size_t done = 0;
    while (done < frame.size()) {
        ssize_t n = ::send(fd, frame.data() + done, frame.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<size_t>(n);
    }
    return true;
}

std::optional<Message> Decoder::next() {
    if (buffer_.size() < 5) return std::nullopt;
    uint32_t size = 0;
    for (int i = 1; i <= 4; ++i)
        size = (size << 8) | static_cast<uint8_t>(buffer_[static_cast<size_t>(i)]);
    if (buffer_.size() < 5 + static_cast<size_t>(size)) return std::nullopt;
    Message m{static_cast<Frame>(buffer_[0]), buffer_.substr(5, size)};
    buffer_.erase(0, 5 + static_cast<size_t>(size));
    return m;
}

}  // namespace berth::engine::attach
