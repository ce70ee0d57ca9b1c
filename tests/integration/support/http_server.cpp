#include "support/http_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>

namespace berth::test {
namespace {

std::string lower(std::string s) {
    for (auto& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool send_all(int fd, const char* data, size_t size) {
    while (size > 0) {
        ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data += n;
        size -= static_cast<size_t>(n);
    }
    return true;
}

const char* reason(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 201:
            return "Created";
        case 202:
            return "Accepted";
        case 206:
            return "Partial Content";
        case 307:
            return "Temporary Redirect";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 416:
            return "Range Not Satisfiable";
        case 500:
            return "Internal Server Error";
        case 503:
            return "Service Unavailable";
        default:
            return "Status";
    }
}

}  // namespace

std::string SeenRequest::header(const std::string& name) const {
    auto it = headers.find(lower(name));
    return it == headers.end() ? "" : it->second;
}

int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
        ::close(fd);
        throw std::runtime_error("bind failed");
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

bool wait_for_port(int port, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<uint16_t>(port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        ::close(fd);
        if (ok) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

HttpServer::HttpServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 ||
        ::listen(listen_fd_, 64) < 0)
        throw std::runtime_error("test http server: bind/listen failed");
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    if (::pipe2(stop_pipe_, O_CLOEXEC) < 0) throw std::runtime_error("pipe failed");
    acceptor_ = std::thread([this] { accept_loop(); });
}

HttpServer::~HttpServer() {
    stopping_ = true;
    char byte = 1;
    ssize_t ignored = ::write(stop_pipe_[1], &byte, 1);
    (void)ignored;
    acceptor_.join();
    {
        std::lock_guard lock(mutex_);
        for (int fd : open_fds_)
            ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : workers_)
        t.join();
    ::close(listen_fd_);
    ::close(stop_pipe_[0]);
    ::close(stop_pipe_[1]);
}

std::vector<SeenRequest> HttpServer::requests() const {
    std::lock_guard lock(mutex_);
    return log_;
}

size_t HttpServer::count(const std::string& method, const std::string& part) const {
    std::lock_guard lock(mutex_);
    return static_cast<size_t>(std::count_if(log_.begin(), log_.end(), [&](const auto& r) {
        return r.method == method && r.path.find(part) != std::string::npos;
    }));
}

void HttpServer::accept_loop() {
    for (;;) {
        pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return;
        }
        if (fds[1].revents || stopping_) return;
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        std::lock_guard lock(mutex_);
        open_fds_.push_back(fd);
        workers_.emplace_back([this, fd] { serve(fd); });
    }
}

void HttpServer::serve(int fd) {
    std::string buffer;
    char chunk[65536];
    for (;;) {
        size_t end;
        while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
            ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n <= 0) goto done;
            buffer.append(chunk, static_cast<size_t>(n));
            // Not HTTP (a TLS hello): answer as a plain server would, and hang up.
            if (!std::isupper(static_cast<unsigned char>(buffer[0]))) {
                static constexpr char kBad[] =
                    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
                send_all(fd, kBad, sizeof kBad - 1);
                goto done;
            }
        }
        {
            SeenRequest request;
            std::string head = buffer.substr(0, end);
            buffer.erase(0, end + 4);
            size_t line_end = head.find("\r\n");
            std::string first = head.substr(0, line_end);
            size_t sp1 = first.find(' '), sp2 = first.rfind(' ');
            request.method = first.substr(0, sp1);
            request.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
            size_t q = request.target.find('?');
            request.path = request.target.substr(0, q);
            if (q != std::string::npos) request.query = request.target.substr(q + 1);
            size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
            while (pos < head.size()) {
                size_t next = head.find("\r\n", pos);
                if (next == std::string::npos) next = head.size();
                std::string line = head.substr(pos, next - pos);
                size_t colon = line.find(':');
                if (colon != std::string::npos) {
                    std::string value = line.substr(colon + 1);
                    while (!value.empty() && value.front() == ' ')
                        value.erase(0, 1);
                    request.headers[lower(line.substr(0, colon))] = value;
                }
                pos = next + 2;
            }
            size_t length = 0;
            if (auto it = request.headers.find("content-length"); it != request.headers.end())
                length = std::stoul(it->second);
            while (buffer.size() < length) {
                ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
                if (n <= 0) goto done;
                buffer.append(chunk, static_cast<size_t>(n));
            }
            request.body = buffer.substr(0, length);
            buffer.erase(0, length);
            {
                std::lock_guard lock(mutex_);
                log_.push_back(request);
            }
            Reply reply;
            try {
                reply = handler_(request);
            } catch (const std::exception& e) {
                reply = {500, {}, e.what()};
            }
            bool head_only = reply.head || request.method == "HEAD";
            std::string response =
                "HTTP/1.1 " + std::to_string(reply.status) + " " + reason(reply.status) + "\r\n";
            for (const auto& [k, v] : reply.headers)
                response += k + ": " + v + "\r\n";
            response += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
            bool close_after = reply.cut_after != std::string::npos;
            response += close_after ? "Connection: close\r\n\r\n" : "\r\n";
            if (!head_only) {
                size_t n = std::min(reply.cut_after, reply.body.size());
                response.append(reply.body, 0, n);
            }
            if (!send_all(fd, response.data(), response.size()) || close_after) goto done;
        }
    }
done:
    ::shutdown(fd, SHUT_RDWR);
    std::lock_guard lock(mutex_);
    open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
    ::close(fd);
}

}  // namespace berth::test
