// Listings: tags (paginated with n/last and Link), the catalog, and the referrers API.
#include <nlohmann/json.hpp>

#include "distribution/server/router.hpp"
#include "oci/media_types.hpp"

namespace berth::registry {
namespace {

void add_next_link(Response& response, const std::string& path, const RequestHead& head,
                   const std::string& last) {
    if (last.empty()) return;
    std::string link = path + "?";
    if (head.has_query("n")) link += "n=" + head.query_value("n") + "&";
    link += "last=" + last;
    response.header("Link", "<" + link + ">; rel=\"next\"");
}

}  // namespace

std::unique_ptr<Exchange> Router::tags(const RequestHead& head, const Route& route) {
    if (head.method != "GET" && head.method != "HEAD")
        throw ApiError(ErrorCode::unsupported, "method not allowed", 405);
    authorizer_.authorize(head, {route.repository, {Action::pull}});
    if (!storage_.repository_exists(route.repository))
        throw ApiError(ErrorCode::name_unknown,
                       "repository name not known to registry: " + route.repository);
    std::string next;
    const auto page = paginate(storage_.tags(route.repository), head, next);
    Response response;
    response.header("Content-Type", "application/json");
    response.body = nlohmann::json{{"name", route.repository}, {"tags", page}}.dump();
    add_next_link(response, "/v2/" + route.repository + "/tags/list", head, next);
    return std::make_unique<ReadyExchange>(std::move(response));
}

std::unique_ptr<Exchange> Router::catalog(const RequestHead& head) {
    if (head.method != "GET" && head.method != "HEAD")
        throw ApiError(ErrorCode::unsupported, "method not allowed", 405);
    AccessRequest request;
    request.catalog = true;
    authorizer_.authorize(head, request);
    std::string next;
    const auto page = paginate(storage_.repositories(), head, next);
    Response response;
    response.header("Content-Type", "application/json");
    response.body = nlohmann::json{{"repositories", page}}.dump();
    add_next_link(response, "/v2/_catalog", head, next);
    return std::make_unique<ReadyExchange>(std::move(response));
}

std::unique_ptr<Exchange> Router::referrers(const RequestHead& head, const Route& route) {
    if (head.method != "GET" && head.method != "HEAD")
        throw ApiError(ErrorCode::unsupported, "method not allowed", 405);
    authorizer_.authorize(head, {route.repository, {Action::pull}});
    auto subject = Digest::try_parse(route.reference);
    if (!subject) throw ApiError(ErrorCode::digest_invalid, "invalid digest: " + route.reference);
    const std::string artifact_type = head.query_value("artifactType");
    nlohmann::ordered_json manifests = nlohmann::ordered_json::array();
    for (const auto& descriptor : storage_.referrers(route.repository, *subject)) {
        if (!artifact_type.empty() && descriptor.artifact_type != artifact_type) continue;
        manifests.push_back(oci::to_json(descriptor));
    }
    Response response;
    response.header("Content-Type", std::string(oci::media_type::kOciIndex));
    if (!artifact_type.empty()) response.header("OCI-Filters-Applied", "artifactType");
    nlohmann::ordered_json index;
    index["schemaVersion"] = 2;
    index["mediaType"] = oci::media_type::kOciIndex;
    index["manifests"] = manifests;
    response.body = index.dump();
    return std::make_unique<ReadyExchange>(std::move(response));
}

}  // namespace berth::registry
