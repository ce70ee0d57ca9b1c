#include "distribution/server/router.hpp"

#include "common/strings.hpp"
#include "distribution/server/names.hpp"
#include "distribution/server/token_issuer.hpp"

namespace berth::registry {

std::string_view route_name(RouteKind kind) {
    switch (kind) {
        case RouteKind::base:
            return "base";
        case RouteKind::catalog:
            return "catalog";
        case RouteKind::token:
            return "token";
        case RouteKind::metrics:
            return "metrics";
        case RouteKind::tags:
            return "tags";
        case RouteKind::manifest:
            return "manifest";
        case RouteKind::blob:
            return "blob";
        case RouteKind::upload_start:
            return "upload_start";
        case RouteKind::upload:
            return "upload";
        case RouteKind::referrers:
            return "referrers";
    }
    return "unknown";
}

std::optional<Route> parse_route(const std::string& path) {
    if (path == "/token") return Route{RouteKind::token, {}, {}};
    if (path == "/metrics") return Route{RouteKind::metrics, {}, {}};
    if (path == "/v2" || path == "/v2/") return Route{RouteKind::base, {}, {}};
    if (path == "/v2/_catalog") return Route{RouteKind::catalog, {}, {}};
    if (!path.starts_with("/v2/")) return std::nullopt;
    const std::vector<std::string> parts = split(std::string_view(path).substr(4), '/');
    const size_t n = parts.size();
    auto name_of = [&](size_t count) {
        std::vector<std::string> name(parts.begin(), parts.begin() + static_cast<ptrdiff_t>(count));
        std::string repo = join(name, "/");
        if (!is_valid_repository_name(repo))
            throw ApiError(ErrorCode::name_invalid, "invalid repository name: " + repo);
        return repo;
    };
    if (n >= 4 && parts[n - 3] == "blobs" && parts[n - 2] == "uploads") {
        if (parts[n - 1].empty()) return Route{RouteKind::upload_start, name_of(n - 3), {}};
        return Route{RouteKind::upload, name_of(n - 3), parts[n - 1]};
    }
    if (n >= 3 && parts[n - 2] == "blobs" && parts[n - 1] == "uploads")
        return Route{RouteKind::upload_start, name_of(n - 2), {}};
    if (n < 3) return std::nullopt;
    const std::string& kind = parts[n - 2];
    if (kind == "blobs") return Route{RouteKind::blob, name_of(n - 2), parts[n - 1]};
    if (kind == "manifests") return Route{RouteKind::manifest, name_of(n - 2), parts[n - 1]};
    if (kind == "tags" && parts[n - 1] == "list") return Route{RouteKind::tags, name_of(n - 2), {}};
    if (kind == "referrers") return Route{RouteKind::referrers, name_of(n - 2), parts[n - 1]};
    return std::nullopt;
}

std::optional<Digest> digest_reference(const std::string& reference) {
    if (reference.find(':') != std::string::npos) {
        auto digest = Digest::try_parse(reference);
        if (!digest) throw ApiError(ErrorCode::digest_invalid, "invalid digest: " + reference);
        return digest;
    }
    if (!is_valid_tag(reference))
        throw ApiError(ErrorCode::tag_invalid,
                       "invalid reference (neither tag nor digest): " + reference);
    return std::nullopt;
}

std::vector<std::string> paginate(const std::vector<std::string>& names, const RequestHead& head,
                                  std::string& next_last) {
    size_t limit = names.size();
    if (head.has_query("n")) {
        auto n = parse_uint64(head.query_value("n"));
        if (!n)
            throw ApiError(ErrorCode::unsupported, "invalid page size n=" + head.query_value("n"),
                           400);
        limit = static_cast<size_t>(*n);
    }
    const std::string last = head.query_value("last");
    auto it = names.begin();
    if (!last.empty()) it = std::upper_bound(names.begin(), names.end(), last);
    std::vector<std::string> page;
    for (; it != names.end() && page.size() < limit; ++it)
        page.push_back(*it);
    next_last = (it != names.end() && !page.empty()) ? page.back() : std::string();
    return page;
}

Router::Router(const RegistryConfig& config, Storage& storage, Uploads& uploads,
               const Authorizer& authorizer, const TokenIssuer* issuer, ProxyCache* proxy,
               Metrics& metrics)
    : config_(config),
      storage_(storage),
      uploads_(uploads),
      authorizer_(authorizer),
      issuer_(issuer),
      proxy_(proxy),
      metrics_(metrics) {}

Response Router::error_response(const ApiError& error) {
    Response response;
    response.status = error.status();
    response.header("Content-Type", "application/json");
    for (const auto& [name, value] : error.headers)
        response.header(name, value);
    response.body = error_body(error.code(), error.what(), error.detail);
    return response;
}

Response Router::error_response(ErrorCode code, const std::string& message, int status) {
    return error_response(ApiError(code, message, status));
}

void Router::require_writable() const {
    if (proxy_)
        throw ApiError(ErrorCode::unsupported,
                       "this registry is a pull-through cache: pushes are not accepted");
}

std::unique_ptr<Exchange> Router::begin(const RequestHead& head, std::string& route_label) {
    try {
        auto route = parse_route(head.path);
        if (!route) {
            route_label = "unknown";
            Response response =
                error_response(ErrorCode::name_unknown, "no such endpoint: " + head.path, 404);
            return std::make_unique<ReadyExchange>(std::move(response));
        }
        route_label = route_name(route->kind);
        return dispatch(head, *route);
    } catch (const ApiError& error) {
        if (route_label.empty()) route_label = "invalid";
        return std::make_unique<ReadyExchange>(error_response(error));
    }
}

std::unique_ptr<Exchange> Router::dispatch(const RequestHead& head, const Route& route) {
    switch (route.kind) {
        case RouteKind::base:
            return base(head);
        case RouteKind::token:
            return token(head);
        case RouteKind::metrics: {
            Response response;
            response.header("Content-Type", "text/plain; version=0.0.4");
            response.body = metrics_.render(uploads_.count());
            return std::make_unique<ReadyExchange>(std::move(response));
        }
        case RouteKind::catalog:
            return catalog(head);
        case RouteKind::tags:
            return tags(head, route);
        case RouteKind::manifest:
            return manifest(head, route);
        case RouteKind::blob:
            return blob(head, route);
        case RouteKind::upload_start:
            return upload_start(head, route);
        case RouteKind::upload:
            return upload(head, route);
        case RouteKind::referrers:
            return referrers(head, route);
    }
    throw ApiError(ErrorCode::unsupported, "unsupported route");
}

std::unique_ptr<Exchange> Router::base(const RequestHead& head) {
    if (head.method != "GET" && head.method != "HEAD")
        throw ApiError(ErrorCode::unsupported, "method not allowed", 405);
    authorizer_.authorize(head, {});
    Response response;
    response.header("Content-Type", "application/json");
    response.body = "{}";
    return std::make_unique<ReadyExchange>(std::move(response));
}

std::unique_ptr<Exchange> Router::token(const RequestHead& head) {
    if (!issuer_) throw ApiError(ErrorCode::unsupported, "this registry issues no tokens", 404);
    if (head.method == "GET")
        return std::make_unique<ReadyExchange>(issuer_->issue(head, head.query));
    if (head.method != "POST") throw ApiError(ErrorCode::unsupported, "method not allowed", 405);
    // OAuth2 password grant: the form arrives as the body.
    struct FormExchange : Exchange {
        FormExchange(const TokenIssuer& i, RequestHead h) : issuer(i), head(std::move(h)) {}
        BodySink* body() override { return &sink; }
        Response finish() override {
            std::string path;
            std::multimap<std::string, std::string> form;
            if (!parse_target("?" + sink.data(), path, form))
                throw ApiError(ErrorCode::unsupported, "malformed form", 400);
            return issuer.issue(head, form);
        }
        const TokenIssuer& issuer;
        RequestHead head;
        BufferSink sink;
    };
    return std::make_unique<FormExchange>(*issuer_, head);
}

}  // namespace berth::registry
