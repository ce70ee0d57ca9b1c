// Requests and responses as the routes see them, independent of the HTTP library: the server
// (server.cpp) fills a RequestHead, streams the body into the route's BodySink and sends the
// Response, with a file body going out by sendfile(2).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/unique_fd.hpp"
#include "image/byte_source.hpp"

namespace berth::registry {

struct RequestHead {
    std::string method;
    std::string target;  // as sent: path and query
    std::string path;    // percent-decoded
    std::multimap<std::string, std::string> query;
    std::map<std::string, std::string> headers;  // names lowercased; repeated ones joined by ", "
    std::optional<uint64_t> content_length;      // nullopt with chunked encoding
    std::string remote;                          // peer address
    std::string scheme = "http";                 // "https" behind TLS

    [[nodiscard]] std::string header(const std::string& lowercase_name) const;
    [[nodiscard]] std::string query_value(const std::string& key) const;  // first, or empty
    [[nodiscard]] bool has_query(const std::string& key) const;
};

// Splits target into path and query, percent-decoding both. False when the target is
// malformed (bad escapes, a NUL byte).
bool parse_target(std::string_view target, std::string& path,
                  std::multimap<std::string, std::string>& query);

struct FileBody {
    UniqueFd fd;
    off_t offset = 0;
    uint64_t length = 0;
};

struct Response {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::optional<FileBody> file;  // sent instead of body (HEAD: neither is sent)
    // Sent instead of body: bytes that are still arriving (a blob the pull-through cache is
    // fetching), read off the I/O threads; stream_length bytes are promised.
    std::shared_ptr<image::ByteSource> stream;
    uint64_t stream_length = 0;
    bool close = false;  // close the connection after this response

    Response& header(std::string name, std::string value) {
        headers.emplace_back(std::move(name), std::move(value));
        return *this;
    }
};

// Where a request body goes while it arrives. A sink that is destroyed without finish()
// undoes what it wrote: a client that disappears halfway stores nothing.
class BodySink {
  public:
    virtual ~BodySink() = default;
    virtual void write(const char* data, size_t size) = 0;
};

// A route matched and authorised, waiting for its body (if any) before it answers.
class Exchange {
  public:
    virtual ~Exchange() = default;
    // Null when the request has no body to keep (it is then read and dropped, up to a limit).
    virtual BodySink* body() { return nullptr; }
    // The largest body this route accepts; larger ones are answered with 413 SIZE_INVALID.
    [[nodiscard]] virtual uint64_t body_limit() const { return 64 * 1024; }
    // Work that blocks on the network (the pull-through cache) runs off the I/O threads.
    [[nodiscard]] virtual bool blocking() const { return false; }
    // Called once the whole body arrived; may throw ApiError.
    virtual Response finish() = 0;
};

// An Exchange that is already answered (errors found before the body, GETs).
class ReadyExchange : public Exchange {
  public:
    explicit ReadyExchange(Response response) : response_(std::move(response)) {}
    Response finish() override { return std::move(response_); }

  private:
    Response response_;
};

}  // namespace berth::registry
