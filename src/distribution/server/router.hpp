// The distribution API's routes: a request head is matched to a route, authorised and
// checked before any body is read; the body goes to the route's sink and the route answers.
// Each family of routes lives in its own file (blob_routes.cpp, upload_routes.cpp,
// manifest_routes.cpp, listing_routes.cpp); this one parses paths and dispatches.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "distribution/server/api_error.hpp"
#include "distribution/server/authorizer.hpp"
#include "distribution/server/config.hpp"
#include "distribution/server/http_message.hpp"
#include "distribution/server/metrics.hpp"
#include "distribution/server/storage.hpp"
#include "distribution/server/uploads.hpp"

namespace berth::registry {

class ProxyCache;
class TokenIssuer;

enum class RouteKind {
    base,
    catalog,
    token,
    metrics,
    tags,
    manifest,
    blob,
    upload_start,
    upload,
    referrers
};

struct Route {
    RouteKind kind = RouteKind::base;
    std::string repository;
    std::string reference;  // tag, digest or upload id
};

// The route of a path, or nullopt (404) when it is none of the API's. Throws ApiError
// NAME_INVALID when the repository part breaks the grammar.
std::optional<Route> parse_route(const std::string& path);
std::string_view route_name(RouteKind kind);  // "manifest", "blob", ... (metrics labels)

// A body kept in memory, up to a limit.
class BufferSink : public BodySink {
  public:
    void write(const char* data, size_t size) override { data_.append(data, size); }
    [[nodiscard]] const std::string& data() const { return data_; }

  private:
    std::string data_;
};

// An exchange whose answer is computed by a function once the body (if any) arrived.
class DeferredExchange : public Exchange {
  public:
    DeferredExchange(std::function<Response()> answer, bool blocking = false)
        : answer_(std::move(answer)), blocking_(blocking) {}
    [[nodiscard]] bool blocking() const override { return blocking_; }
    Response finish() override { return answer_(); }

  private:
    std::function<Response()> answer_;
    bool blocking_;
};

class Router {
  public:
    Router(const RegistryConfig& config, Storage& storage, Uploads& uploads,
           const Authorizer& authorizer, const TokenIssuer* issuer, ProxyCache* proxy,
           Metrics& metrics);

    // Never throws for a request's fault: errors become an exchange answering with them.
    // route_label is set for logs and metrics.
    std::unique_ptr<Exchange> begin(const RequestHead& head, std::string& route_label);

    static Response error_response(const ApiError& error);
    static Response error_response(ErrorCode code, const std::string& message, int status = 0);

  private:
    std::unique_ptr<Exchange> dispatch(const RequestHead& head, const Route& route);
    std::unique_ptr<Exchange> base(const RequestHead& head);
    std::unique_ptr<Exchange> token(const RequestHead& head);
    std::unique_ptr<Exchange> blob(const RequestHead& head, const Route& route);
    std::unique_ptr<Exchange> upload_start(const RequestHead& head, const Route& route);
    std::unique_ptr<Exchange> upload(const RequestHead& head, const Route& route);
    std::unique_ptr<Exchange> manifest(const RequestHead& head, const Route& route);
    std::unique_ptr<Exchange> tags(const RequestHead& head, const Route& route);
    std::unique_ptr<Exchange> catalog(const RequestHead& head);
    std::unique_ptr<Exchange> referrers(const RequestHead& head, const Route& route);

    Response serve_blob(const RequestHead& head, const std::string& repo, const Digest& digest);
    Response serve_manifest(const RequestHead& head, const std::string& repo,
                            const std::string& reference);
    Response store_manifest(const std::string& repo, const std::string& reference,
                            const std::string& content_type, const std::string& bytes);
    void require_writable() const;

    const RegistryConfig& config_;
    Storage& storage_;
    Uploads& uploads_;
    const Authorizer& authorizer_;
    const TokenIssuer* issuer_;
    ProxyCache* proxy_;
    Metrics& metrics_;
};

// Parses "n" and "last" and pages names (sorted): returns the page and sets next_last when
// more follow.
std::vector<std::string> paginate(const std::vector<std::string>& names, const RequestHead& head,
                                  std::string& next_last);
// The digest of a reference, or nullopt for a tag; throws ApiError for neither.
std::optional<Digest> digest_reference(const std::string& reference);

}  // namespace berth::registry
