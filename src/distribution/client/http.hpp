// HTTP for the registry client: libcurl easy handles sharing one connection, DNS and TLS
// session cache (CURLSH), so the requests of a pull, from any thread, reuse connections.
// One attempt per call; retries and auth are the caller's (registry.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "image/byte_source.hpp"

namespace berth::distribution {

// The connection failed (refused, reset, timed out, TLS): nothing or part of a response came.
class TransportError : public Error {
  public:
    using Error::Error;
};

struct HttpRequest {
    std::string method = "GET";
    std::string url;
    std::vector<std::string> headers;  // "Name: value"
    std::string body;                  // sent when body_source is null (and method wants one)
    image::ByteSource* body_source = nullptr;
    int64_t body_size = 0;  // with body_source
    // Streaming response body: called with the status for each piece of a 2xx body; return
    // false to abort.
    std::function<bool(long status, const char* data, size_t size)> on_data;
    size_t max_body = 64 * 1024 * 1024;  // buffered bodies (no on_data) larger than this fail
    bool verify_tls = true;
    long timeout_seconds = 0;  // the whole request; 0: none (stalls still end it)
    std::string ca_file;       // extra CA bundle for this registry (certs.d), empty: the system's
};

struct HttpResponse {
    long status = 0;
    std::multimap<std::string, std::string> headers;  // names lowercased
    std::string body;                                 // unless streamed
    std::string url;                                  // after redirects
    [[nodiscard]] std::optional<std::string> header(const std::string& lowercase_name) const;
};

class HttpClient {
  public:
    HttpClient();
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // Throws TransportError when no complete response arrived; an aborted on_data also
    // lands here (aborted() tells it apart).
    HttpResponse perform(const HttpRequest& request);

  private:
    struct Share;
    std::unique_ptr<Share> share_;
};

// "user:pass" -> base64, and back.
std::string base64_encode(std::string_view data);
std::optional<std::string> base64_decode(std::string_view text);
// Percent-encoding for query values.
std::string url_escape(std::string_view text);

}  // namespace berth::distribution
