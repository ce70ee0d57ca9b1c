// Raw HTTP over a TCP socket to 127.0.0.1, for what curl would tidy up or refuse to send:
// dot segments, half bodies, stalled heads.
#pragma once

#include <chrono>
#include <string>

namespace berth::test {

class RawConnection {
  public:
    explicit RawConnection(int port);
    ~RawConnection();
    RawConnection(const RawConnection&) = delete;
    RawConnection& operator=(const RawConnection&) = delete;
    void send(const std::string& bytes);
    // Everything until the peer closes or the timeout.
    std::string receive_all(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    // True when the peer closed the connection within the timeout.
    bool closed_by_peer(std::chrono::milliseconds timeout);
    void close();

  private:
    int fd_ = -1;
};

// Sends one request (with "Connection: close") and returns the whole response.
std::string raw_request(int port, const std::string& request);
// The status code of a raw response ("HTTP/1.1 404 ..." -> 404), 0 when none.
int raw_status(const std::string& response);

}  // namespace berth::test
