#include "distribution/server/server.hpp"

#include <openssl/evp.h>
#include <sys/sendfile.h>

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <limits>
#include <list>
#include <mutex>
#include <thread>

#include "common/error.hpp"
#include "common/fd_limit.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "distribution/server/access_log.hpp"
#include "distribution/server/authorizer.hpp"
#include "distribution/server/htpasswd.hpp"
#include "distribution/server/jwt.hpp"
#include "distribution/server/metrics.hpp"
#include "distribution/server/proxy_cache.hpp"
#include "distribution/server/router.hpp"
#include "distribution/server/storage.hpp"
#include "distribution/server/token_issuer.hpp"
#include "distribution/server/uploads.hpp"
#include "image/reference.hpp"

namespace berth::registry {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;

namespace {

constexpr size_t kHeaderLimit = 16 * 1024;
constexpr size_t kBodyChunk = 1024 * 1024;
constexpr size_t kSocketRead = 256 * 1024;
// Unwanted bodies up to this size are read and dropped, so the client sees the answer.
constexpr uint64_t kDrainLimit = 1024 * 1024;

struct Endpoint {
    std::string host;
    unsigned short port = 0;
};

Endpoint parse_addr(const std::string& addr) {
    const size_t colon = addr.rfind(':');
    if (colon == std::string::npos) throw Error("--addr " + addr + ": expected HOST:PORT");
    Endpoint endpoint;
    endpoint.host = addr.substr(0, colon);
    if (endpoint.host.size() >= 2 && endpoint.host.front() == '[' && endpoint.host.back() == ']')
        endpoint.host = endpoint.host.substr(1, endpoint.host.size() - 2);
    if (endpoint.host.empty()) endpoint.host = "0.0.0.0";
    try {
        const int port = std::stoi(addr.substr(colon + 1));
        if (port < 0 || port > 65535) throw std::out_of_range("port");
        endpoint.port = static_cast<unsigned short>(port);
    } catch (const std::exception&) {
        throw Error("--addr " + addr + ": bad port");
    }
    return endpoint;
}

bool is_loopback_host(const std::string& host) {
    if (host == "localhost") return true;
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    return !ec && address.is_loopback();
}

std::string lowercase(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// One per connection, listed so that shutdown can close the idle ones.
struct ConnectionState {
    tcp::socket* socket = nullptr;
    asio::any_io_executor executor;
    bool idle = true;  // between requests (read by shutdown on the same executor)
};

}  // namespace

struct RegistryServer::Impl {
    RegistryConfig config;
    Storage storage;
    Uploads uploads;
    Metrics metrics;
    std::shared_ptr<Htpasswd> htpasswd;
    std::unique_ptr<TokenSigner> signer;
    std::shared_ptr<TokenVerifier> verifier;
    std::unique_ptr<Authorizer> authorizer;
    std::unique_ptr<TokenIssuer> issuer;
    std::unique_ptr<ProxyCache> proxy;
    std::unique_ptr<Router> router;
    std::unique_ptr<asio::ssl::context> tls;

    std::vector<std::unique_ptr<asio::io_context>> contexts;
    asio::thread_pool blocking_pool{4};
    std::atomic<bool> stopping{false};
    std::atomic<size_t> next_context{0};
    // config.max_connections, lowered to what the open file limit allows (run()).
    size_t max_connections = 0;

    std::mutex connections_mutex;
    std::condition_variable connections_changed;
    std::list<std::shared_ptr<ConnectionState>> connections;

    explicit Impl(RegistryConfig c)
        : config(std::move(c)), storage(config.root), uploads(storage, config.upload_expiry) {
        const auto& auth = config.auth;
        if (!auth.htpasswd.empty()) htpasswd = std::make_shared<Htpasswd>(auth.htpasswd);
        if (auth.token != TokenMode::none) {
            verifier = std::make_shared<TokenVerifier>();
            if (auth.token == TokenMode::builtin) {
                signer = std::make_unique<TokenSigner>(
                    auth.token_key.empty() ? config.root + "/token-key.pem" : auth.token_key);
                verifier->add_key(KeyPtr(EVP_PKEY_dup_or_ref(signer->key())));
            }
            if (!auth.token_public_key.empty()) verifier->add_key_file(auth.token_public_key);
            if (verifier->empty())
                throw Error(
                    "token auth needs --token-public-key (external issuer) or the built-in issuer");
        }
        authorizer = std::make_unique<Authorizer>(config.auth, htpasswd, verifier);
        if (signer)
            issuer = std::make_unique<TokenIssuer>(config.auth, htpasswd.get(),
                                                   authorizer->policy(), *signer);
        if (!config.proxy.upstream.empty())
            proxy = std::make_unique<ProxyCache>(config.proxy, storage, metrics);
        router = std::make_unique<Router>(config, storage, uploads, *authorizer, issuer.get(),
                                          proxy.get(), metrics);
        if (!config.tls_cert.empty() || !config.tls_key.empty()) {
            if (config.tls_cert.empty() || config.tls_key.empty())
                throw Error("TLS needs both --tls-cert and --tls-key");
            tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
            tls->set_options(asio::ssl::context::default_workarounds |
                             asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                             asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
            boost::system::error_code ec;
            tls->use_certificate_chain_file(config.tls_cert, ec);
            if (ec) throw Error(config.tls_cert + ": " + ec.message());
            tls->use_private_key_file(config.tls_key, asio::ssl::context::pem, ec);
            if (ec) throw Error(config.tls_key + ": " + ec.message());
        }
    }

    static evp_pkey_st* EVP_PKEY_dup_or_ref(evp_pkey_st* key);

    // --- one request ---------------------------------------------------------------------

    RequestHead make_head(const http::request<http::empty_body>& request, const std::string& remote,
                          bool& ok) const {
        RequestHead head;
        head.method = std::string(request.method_string());
        head.target = std::string(request.target());
        head.remote = remote;
        head.scheme = tls ? "https" : "http";
        for (const auto& field : request) {
            std::string name =
                lowercase(std::string_view(field.name_string().data(), field.name_string().size()));
            auto [it, inserted] = head.headers.emplace(name, std::string(field.value()));
            if (!inserted) it->second += ", " + std::string(field.value());
        }
        if (request.has_content_length())
            head.content_length = std::stoull(std::string(request[http::field::content_length]));
        else if (!request.chunked())
            head.content_length = 0;
        ok = parse_target(head.target, head.path, head.query);
        return head;
    }

    template <class Stream>
    awaitable<uint64_t> write_response(Stream& stream, const RequestHead& head, Response& response,
                                       bool keep_alive) {
        auto& lowest = beast::get_lowest_layer(stream);
        const bool is_head = head.method == "HEAD";
        http::response<http::empty_body> header{static_cast<http::status>(response.status), 11};
        std::string explicit_length;
        for (const auto& [name, value] : response.headers) {
            if (beast::iequals(name, "Content-Length"))
                explicit_length = value;
            else
                header.insert(name, value);
        }
        header.set("Docker-Distribution-API-Version", "registry/2.0");
        header.keep_alive(keep_alive);
        uint64_t body_length = response.file     ? response.file->length
                               : response.stream ? response.stream_length
                                                 : response.body.size();
        if (is_head && !explicit_length.empty()) body_length = std::stoull(explicit_length);
        const bool no_body =
            response.status == 204 || response.status == 304 || response.status < 200;
        if (!no_body) header.set(http::field::content_length, std::to_string(body_length));
        lowest.expires_after(config.write_timeout);
        http::response_serializer<http::empty_body> serializer{header};
        if (response.stream && !is_head && !no_body && body_length > 0) {
            co_await http::async_write_header(stream, serializer, use_awaitable);
            co_return co_await write_stream(stream, response);
        }
        if (is_head || no_body || body_length == 0 || !response.file) {
            if (is_head || no_body || body_length == 0) {
                co_await http::async_write_header(stream, serializer, use_awaitable);
                co_return 0;
            }
            // Header and a small body in one write.
            http::response<http::string_body> full{std::move(header)};
            full.body() = std::move(response.body);
            co_await http::async_write(stream, full, use_awaitable);
            co_return body_length;
        }
        co_await http::async_write_header(stream, serializer, use_awaitable);
        co_return co_await write_file(stream, *response.file);
    }

    // NOLINTNEXTLINE(readability-make-member-function-const): changes state outside the object
    awaitable<uint64_t> write_file(beast::tcp_stream& stream, FileBody& file) {
        // Zero copy: the kernel moves page cache pages to the socket.
        auto& socket = stream.socket();
        socket.native_non_blocking(true);
        off_t offset = file.offset;
        uint64_t remaining = file.length;
        while (remaining > 0) {
            const ssize_t n =
                ::sendfile(socket.native_handle(), file.fd.get(), &offset,
                           static_cast<size_t>(std::min<uint64_t>(remaining, 1ULL << 30)));
            if (n > 0) {
                remaining -= static_cast<uint64_t>(n);
                continue;
            }
            if (n == 0) throw Error("blob shrank while it was sent");
            if (errno == EINTR) continue;
            if (errno != EAGAIN) throw_errno("sendfile");
            asio::steady_timer deadline(socket.get_executor());
            deadline.expires_after(config.write_timeout);
            deadline.async_wait([&socket](boost::system::error_code ec) {
                if (!ec) socket.cancel();
            });
            boost::system::error_code ec;
            co_await socket.async_wait(tcp::socket::wait_write,
                                       asio::redirect_error(use_awaitable, ec));
            deadline.cancel();
            if (ec) throw boost::system::system_error(ec);
        }
        co_return file.length;
    }

    // NOLINTNEXTLINE(readability-make-member-function-const): changes state outside the object
    awaitable<uint64_t> write_file(beast::ssl_stream<beast::tcp_stream>& stream, FileBody& file) {
        std::vector<char> buffer(kBodyChunk);
        off_t offset = file.offset;
        uint64_t remaining = file.length;
        while (remaining > 0) {
            const ssize_t n = ::pread(file.fd.get(), buffer.data(),
                                      std::min<uint64_t>(remaining, buffer.size()), offset);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) throw Error("blob shrank while it was sent");
            beast::get_lowest_layer(stream).expires_after(config.write_timeout);
            co_await asio::async_write(stream, asio::buffer(buffer.data(), static_cast<size_t>(n)),
                                       use_awaitable);
            offset += n;
            remaining -= static_cast<uint64_t>(n);
        }
        co_return file.length;
    }

    static awaitable<size_t> read_on_pool(std::shared_ptr<image::ByteSource> source,
                                          std::shared_ptr<std::vector<char>> chunk, size_t want) {
        co_return source->read(chunk->data(), want);
    }

    awaitable<Response> finish_on_pool(Exchange* exchange) { co_return finish_exchange(*exchange); }

    // Bytes that are still arriving: each read blocks, so it runs on the blocking pool.
    template <class Stream>
    awaitable<uint64_t> write_stream(Stream& stream, Response& response) {
        auto source = response.stream;
        auto chunk = std::make_shared<std::vector<char>>(kBodyChunk);
        uint64_t sent = 0;
        while (sent < response.stream_length) {
            const size_t want = static_cast<size_t>(
                std::min<uint64_t>(chunk->size(), response.stream_length - sent));
            // A coroutine function, not a lambda: its arguments live in its own frame.
            const size_t got = co_await asio::co_spawn(
                blocking_pool, read_on_pool(source, chunk, want), use_awaitable);
            if (got == 0) throw Error("the blob ended early");
            beast::get_lowest_layer(stream).expires_after(config.write_timeout);
            co_await asio::async_write(stream, asio::buffer(chunk->data(), got), use_awaitable);
            sent += got;
        }
        co_return sent;
    }

    Response finish_exchange(Exchange& exchange) {
        try {
            return exchange.finish();
        } catch (const ApiError& error) {
            return Router::error_response(error);
        } catch (const std::exception& e) {
            log::error(std::string("request failed: ") + e.what());
            return Router::error_response(ErrorCode::unsupported,
                                          std::string("internal error: ") + e.what(), 500);
        }
    }

    enum class BodyResult { complete, too_large, broken };

    // Reads a body into sink (or drops it) in batches of kBodyChunk: clients often send a
    // layer in thousands of small segments, and one write(2) per segment would cost more than
    // the copy. A watchdog that checks for progress every read timeout replaces a timer per
    // read. A sink write that fails sets failure; the rest of the body is still read.
    template <class Stream>
    awaitable<BodyResult> read_body(Stream& stream, beast::flat_buffer& buffer,
                                    http::request_parser<http::buffer_body>& parser, BodySink* sink,
                                    uint64_t& bytes_in, std::optional<Response>& failure) {
        auto& lowest = beast::get_lowest_layer(stream);
        auto& socket = lowest.socket();
        lowest.expires_never();
        // Beast reads as much as the buffer's free capacity (at least 512 bytes); the buffer
        // sized for a request head would make a layer arrive in 512-byte reads.
        buffer.reserve(kSocketRead);
        std::vector<char> chunk(kBodyChunk);
        size_t filled = 0;
        auto flush = [&] {
            if (sink && filled > 0 && !failure) {
                try {
                    sink->write(chunk.data(), filled);
                } catch (const std::exception& e) {
                    failure = Router::error_response(
                        ErrorCode::unsupported, std::string("storing the body failed: ") + e.what(),
                        500);
                }
            }
            filled = 0;
        };
        asio::steady_timer watchdog(socket.get_executor());
        uint64_t seen = bytes_in;
        std::function<void()> arm = [&] {
            watchdog.expires_after(config.read_timeout);
            watchdog.async_wait([&](boost::system::error_code e) {
                if (e) return;  // cancelled: the body is done
                if (bytes_in == seen) {
                    socket.cancel();
                    return;
                }
                seen = bytes_in;
                arm();
            });
        };
        arm();
        boost::system::error_code ec;
        while (!parser.is_done()) {
            parser.get().body().data = chunk.data() + filled;
            parser.get().body().size = chunk.size() - filled;
            co_await http::async_read_some(stream, buffer, parser,
                                           asio::redirect_error(use_awaitable, ec));
            if (ec == http::error::need_buffer) ec = {};
            const size_t got = chunk.size() - filled - parser.get().body().size;
            filled += got;
            bytes_in += got;
            if (ec) break;
            if (filled == chunk.size()) flush();
        }
        watchdog.cancel();
        if (ec == http::error::body_limit) co_return BodyResult::too_large;
        if (ec) co_return BodyResult::broken;
        flush();
        buffer.shrink_to_fit();  // idle keep-alive connections stay small
        co_return BodyResult::complete;
    }

    template <class Stream>
    awaitable<void> serve_requests(Stream& stream, std::shared_ptr<ConnectionState> state,
                                   std::string remote) {
        auto& lowest = beast::get_lowest_layer(stream);
        beast::flat_buffer buffer;
        while (!stopping) {
            http::request_parser<http::empty_body> parser;
            parser.header_limit(kHeaderLimit);
            // Not boost::none: Beast 1.74 compares the length against an empty optional as
            // "greater".
            parser.body_limit(std::numeric_limits<std::uint64_t>::max());
            lowest.expires_after(config.read_timeout);
            boost::system::error_code ec;
            state->idle = true;
            co_await http::async_read_header(stream, buffer, parser,
                                             asio::redirect_error(use_awaitable, ec));
            state->idle = false;
            if (ec) {
                if (ec == http::error::header_limit ||
                    ec.category() == http::make_error_code(http::error::bad_target).category()) {
                    Response bad = Router::error_response(
                        ErrorCode::size_invalid,
                        "malformed or oversized request head: " + ec.message(), 400);
                    bad.close = true;
                    RequestHead none;
                    none.method = "-";
                    none.target = "-";
                    uint64_t sent = 0;
                    try {
                        sent = co_await write_response(stream, none, bad, false);
                    } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): gone
                    }
                    metrics.count_request("invalid", "-", bad.status, 0, sent);
                    if (config.access_log)
                        write_access_log({remote, "-", "-", "invalid", bad.status, 0, sent,
                                          std::chrono::microseconds(0), ""});
                }
                co_return;
            }
            const auto started = std::chrono::steady_clock::now();
            RequestHead head;
            std::string route = "invalid";
            uint64_t bytes_in = 0;
            bool keep_alive = parser.keep_alive();
            Response response;
            // Whatever goes wrong in a route (a bug, an exception nobody expected), the request
            // is answered (500) and logged; the connection closes after the answer.
            bool failed = false;
            try {
                bool target_ok = true;
                head = make_head(parser.get(), remote, target_ok);
                std::unique_ptr<Exchange> exchange;
                if (!target_ok) {
                    exchange = std::make_unique<ReadyExchange>(Router::error_response(
                        ErrorCode::name_invalid, "malformed request target", 400));
                } else {
                    exchange = router->begin(head, route);
                }

                // The body: into the route's sink. A body nobody wants (the answer is already
                // known, e.g. 401) or one over the route's limit is drained when small, so the
                // client reads the answer; otherwise the connection closes after the answer.
                std::optional<Response> early;
                const bool has_body =
                    parser.chunked() || (head.content_length && *head.content_length > 0);
                if (has_body) {
                    BodySink* sink = exchange->body();
                    const uint64_t limit = exchange->body_limit();
                    const bool expects_continue =
                        beast::iequals(head.header("expect"), "100-continue");
                    const bool oversized = head.content_length && *head.content_length > limit;
                    if (oversized)
                        early = Router::error_response(
                            ErrorCode::size_invalid,
                            "request body of " + std::to_string(*head.content_length) +
                                " bytes exceeds the limit of " + std::to_string(limit),
                            413);
                    const bool wanted = sink && !oversized;
                    const bool drain = !wanted && !expects_continue && head.content_length &&
                                       *head.content_length <= kDrainLimit;
                    if (wanted || drain) {
                        if (wanted && expects_continue) {
                            lowest.expires_after(config.write_timeout);
                            static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
                            co_await asio::async_write(
                                stream, asio::buffer(kContinue, sizeof kContinue - 1),
                                use_awaitable);
                        }
                        http::request_parser<http::buffer_body> body_parser(std::move(parser));
                        body_parser.body_limit(wanted ? limit : kDrainLimit);
                        const BodyResult result = co_await read_body(
                            stream, buffer, body_parser, wanted ? sink : nullptr, bytes_in, early);
                        if (result == BodyResult::too_large) {
                            if (!early)
                                early = Router::error_response(
                                    ErrorCode::size_invalid, "request body exceeds the limit", 413);
                            keep_alive = false;
                        } else if (result == BodyResult::broken) {
                            // The client went away or stalled: the exchange (and its sink) is
                            // dropped, which undoes what was written.
                            metrics.count_request(route, head.method, 499, bytes_in, 0);
                            co_return;
                        }
                        if (body_parser.is_done())
                            keep_alive = keep_alive && body_parser.keep_alive();
                    } else {
                        keep_alive = false;  // the body is never read
                    }
                }

                if (early) {
                    response = std::move(*early);
                } else if (exchange->blocking()) {
                    response = co_await asio::co_spawn(
                        blocking_pool, finish_on_pool(exchange.get()), use_awaitable);
                } else {
                    response = finish_exchange(*exchange);
                }
                exchange.reset();
            } catch (const std::exception& e) {
                log::error("internal error answering " +
                           escape_invalid_utf8(head.method + " " + head.target) + ": " + e.what());
                failed = true;
            }
            if (failed) {
                response = Router::error_response(ErrorCode::unsupported, "internal error", 500);
                keep_alive = false;
            }
            keep_alive = keep_alive && !response.close && !stopping;
            uint64_t bytes_out = 0;
            try {
                bytes_out = co_await write_response(stream, head, response, keep_alive);
            } catch (const std::exception& e) {
                if (response.stream)
                    log::warn(escape_invalid_utf8(head.method + " " + head.target) + ": " +
                              e.what());
                metrics.count_request(route, head.method, response.status, bytes_in, 0);
                if (config.access_log)
                    write_access_log({remote, head.method, head.target, route, response.status,
                                      bytes_in, 0, std::chrono::microseconds(0),
                                      head.header("user-agent")});
                co_return;
            }
            const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::steady_clock::now() - started);
            metrics.count_request(route, head.method, response.status, bytes_in, bytes_out);
            if (config.access_log)
                write_access_log({remote, head.method, head.target, route, response.status,
                                  bytes_in, bytes_out, elapsed, head.header("user-agent")});
            if (!keep_alive) co_return;
        }
    }

    awaitable<void> connection(tcp::socket socket) {
        boost::system::error_code ec;
        const auto peer = socket.remote_endpoint(ec);
        const std::string remote =
            ec ? "unknown" : peer.address().to_string() + ":" + std::to_string(peer.port());
        socket.set_option(tcp::no_delay(true), ec);
        auto state = std::make_shared<ConnectionState>();
        state->executor = socket.get_executor();
        {
            std::lock_guard lock(connections_mutex);
            connections.push_back(state);
        }
        try {
            if (tls) {
                beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)),
                                                            *tls);
                state->socket = &beast::get_lowest_layer(stream).socket();
                beast::get_lowest_layer(stream).expires_after(config.read_timeout);
                co_await stream.async_handshake(asio::ssl::stream_base::server, use_awaitable);
                co_await serve_requests(stream, state, remote);
                beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
                co_await stream.async_shutdown(asio::redirect_error(use_awaitable, ec));
            } else {
                beast::tcp_stream stream(std::move(socket));
                state->socket = &stream.socket();
                co_await serve_requests(stream, state, remote);
                stream.socket().shutdown(tcp::socket::shutdown_send, ec);
            }
        } catch (const boost::system::system_error&) {  // NOLINT(bugprone-empty-catch)
            // A broken connection (reset, timed out) ends only itself.
        } catch (const std::exception& e) {
            // Every request that could be answered was (serve_requests); this is a bug.
            log::error("connection from " + remote + " ended: " + e.what());
        }
        --metrics.connections;
        {
            std::lock_guard lock(connections_mutex);
            connections.remove(state);
            state->socket = nullptr;
        }
        connections_changed.notify_all();
    }

    awaitable<void> refuse(tcp::socket socket) {
        static constexpr char kRefusal[] =
            "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nConnection: "
            "close\r\n"
            "Retry-After: 1\r\nContent-Length: 83\r\n\r\n"
            "{\"errors\":[{\"code\":\"TOOMANYREQUESTS\",\"message\":\"too many connections, try "
            "again\"}]}";
        boost::system::error_code ec;
        co_await asio::async_write(socket, asio::buffer(kRefusal, sizeof kRefusal - 1),
                                   asio::redirect_error(use_awaitable, ec));
        socket.shutdown(tcp::socket::shutdown_both, ec);
    }

    awaitable<void> accept_loop(tcp::acceptor& acceptor) {
        asio::steady_timer backoff(acceptor.get_executor());
        bool out_of_files = false;
        while (!stopping) {
            auto& context = *contexts[next_context++ % contexts.size()];
            boost::system::error_code ec;
            tcp::socket socket =
                co_await acceptor.async_accept(context, asio::redirect_error(use_awaitable, ec));
            if (ec) {
                if (stopping || ec == asio::error::operation_aborted) co_return;
                if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
                    ec == asio::error::no_memory ||
                    ec == boost::system::errc::too_many_files_open_in_system) {
                    // The listening socket stays readable while the connection waits in the
                    // backlog: accepting again at once would spin. Wait for files to close.
                    if (!out_of_files)
                        log::warn("accepting connections failed: " + ec.message() + " (" +
                                  std::to_string(metrics.connections.load()) +
                                  " connections open); retrying every 100 ms");
                    out_of_files = true;
                    backoff.expires_after(std::chrono::milliseconds(100));
                    co_await backoff.async_wait(asio::redirect_error(use_awaitable, ec));
                }
                continue;  // ECONNABORTED and friends: the next one
            }
            if (out_of_files) {
                log::info("accepting connections again");
                out_of_files = false;
            }
            const auto executor = socket.get_executor();
            if (static_cast<size_t>(metrics.connections.load()) >= max_connections) {
                asio::co_spawn(executor, refuse(std::move(socket)), asio::detached);
                continue;
            }
            ++metrics
                  .connections;  // here, not in the coroutine: a burst of accepts sees it at once
            asio::co_spawn(executor, connection(std::move(socket)), asio::detached);
        }
    }

    void run() {
        const Endpoint endpoint = parse_addr(config.addr);
        if (!tls && !config.plain_http && !is_loopback_host(endpoint.host))
            throw Error("refusing plain HTTP on " + config.addr +
                        ": give --tls-cert and --tls-key, or --plain-http");
        // Each connection may hold its socket and the file it serves or writes (and, for a
        // pull-through cache, its upstream connection): the cap leaves room for them all.
        const uint64_t fd_limit = raise_fd_limit();
        max_connections = std::min(config.max_connections, connection_cap(fd_limit, proxy ? 3 : 2));
        if (max_connections < config.max_connections)
            log::warn("at most " + std::to_string(max_connections) + " connections (not " +
                      std::to_string(config.max_connections) + "): the open file limit is " +
                      std::to_string(fd_limit));
        const size_t removed = uploads.remove_expired();
        if (removed) log::info("removed " + std::to_string(removed) + " stale upload sessions");

        const unsigned threads =
            config.threads ? config.threads : std::max(1u, std::thread::hardware_concurrency());
        for (unsigned i = 0; i < threads; ++i)
            contexts.push_back(std::make_unique<asio::io_context>(1));
        auto& main = *contexts[0];

        tcp::acceptor acceptor(main);
        boost::system::error_code ec;
        const auto address =
            asio::ip::make_address(endpoint.host == "localhost" ? "127.0.0.1" : endpoint.host, ec);
        if (ec) throw Error("--addr " + config.addr + ": " + ec.message());
        const tcp::endpoint bind_to(address, endpoint.port);
        acceptor.open(bind_to.protocol());
        acceptor.set_option(asio::socket_base::reuse_address(true));
        acceptor.bind(bind_to, ec);
        if (ec) throw Error("listen on " + config.addr + ": " + ec.message());
        acceptor.listen(asio::socket_base::max_listen_connections);

        asio::signal_set signals(main, SIGTERM, SIGINT);
        std::mutex stop_mutex;
        std::condition_variable stop_requested;
        bool stop = false;
        signals.async_wait([&](boost::system::error_code, int) {
            std::lock_guard lock(stop_mutex);
            stop = true;
            stop_requested.notify_all();
        });
        // Stale upload sessions go away while the server runs, too.
        asio::steady_timer sweeper(main);
        std::function<void()> sweep = [&] {
            sweeper.expires_after(
                std::min<std::chrono::seconds>(config.upload_expiry, std::chrono::hours(1)) +
                std::chrono::seconds(1));
            sweeper.async_wait([&](boost::system::error_code e) {
                if (e) return;
                asio::post(blocking_pool, [this] { uploads.remove_expired(); });
                sweep();
            });
        };
        sweep();

        asio::co_spawn(main, accept_loop(acceptor), asio::detached);
        std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
        for (auto& context : contexts)
            guards.push_back(asio::make_work_guard(*context));
        std::vector<std::thread> workers;
        for (auto& context : contexts)
            workers.emplace_back([&context] { context->run(); });
        log::info("berth registry listening on " + config.addr + (tls ? " (TLS)" : "") +
                  (proxy ? ", pull-through cache of " + config.proxy.upstream : ""));

        {
            std::unique_lock lock(stop_mutex);
            stop_requested.wait(lock, [&] { return stop; });
        }
        // Graceful shutdown: no new connections, idle ones closed, busy ones finish.
        stopping = true;
        asio::post(main, [&] {
            acceptor.close();
            sweeper.cancel();
        });
        {
            std::lock_guard lock(connections_mutex);
            for (auto& state : connections) {
                asio::post(state->executor, [state] {
                    if (state->idle && state->socket) {
                        boost::system::error_code ignored;
                        state->socket->cancel(ignored);
                    }
                });
            }
        }
        {
            std::unique_lock lock(connections_mutex);
            connections_changed.wait_for(lock, config.shutdown_grace,
                                         [&] { return connections.empty(); });
        }
        for (auto& context : contexts)
            context->stop();
        for (auto& worker : workers)
            worker.join();
        blocking_pool.join();
        log::info("berth registry stopped");
    }
};

evp_pkey_st* RegistryServer::Impl::EVP_PKEY_dup_or_ref(evp_pkey_st* key) {
    EVP_PKEY_up_ref(key);
    return key;
}

RegistryServer::RegistryServer(RegistryConfig config)
    : impl_(std::make_unique<Impl>(std::move(config))) {}
RegistryServer::~RegistryServer() = default;

void RegistryServer::run() {
    impl_->run();
}

}  // namespace berth::registry
