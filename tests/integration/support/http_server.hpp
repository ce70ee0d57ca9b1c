// A small HTTP/1.1 server on 127.0.0.1 for tests that need a registry to misbehave: each
// request goes to a handler; replies may be cut short to break the connection mid-body.
// Stopped (and its threads joined) on destruction.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace berth::test {

struct SeenRequest {
    std::string method;
    std::string target;  // path and query as sent
    std::string path;
    std::string query;
    std::map<std::string, std::string> headers;  // names lowercased
    std::string body;
    [[nodiscard]] std::string header(const std::string& name) const;
};

struct Reply {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    bool head = false;                     // HEAD: Content-Length of body, no body sent
    size_t cut_after = std::string::npos;  // send this many body bytes, then close
};

class HttpServer {
  public:
    using Handler = std::function<Reply(const SeenRequest&)>;
    explicit HttpServer(Handler handler);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    [[nodiscard]] int port() const { return port_; }
    [[nodiscard]] std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
    [[nodiscard]] std::vector<SeenRequest> requests() const;
    // Requests whose method is method and whose path contains part.
    [[nodiscard]] size_t count(const std::string& method, const std::string& part) const;

  private:
    void accept_loop();
    void serve(int fd);

    Handler handler_;
    int listen_fd_ = -1;
    int port_ = 0;
    int stop_pipe_[2] = {-1, -1};
    std::atomic<bool> stopping_{false};
    std::thread acceptor_;
    mutable std::mutex mutex_;
    std::vector<std::thread> workers_;
    std::vector<int> open_fds_;
    std::vector<SeenRequest> log_;
};

// A free TCP port on 127.0.0.1 (bound and released: good enough for tests).
int free_port();
// Polls until something accepts connections on 127.0.0.1:port.
bool wait_for_port(int port, std::chrono::milliseconds timeout);

}  // namespace berth::test
