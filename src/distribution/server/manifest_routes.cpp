// GET/HEAD/PUT/DELETE /v2/<name>/manifests/<reference>: content negotiation, validation of
// what a manifest references, tags, and the subject/referrers bookkeeping.
#include <nlohmann/json.hpp>

#include "common/strings.hpp"
#include "distribution/server/proxy_cache.hpp"
#include "distribution/server/router.hpp"
#include "oci/image_index.hpp"
#include "oci/image_manifest.hpp"
#include "oci/media_types.hpp"

namespace berth::registry {
namespace {

// True when the Accept header admits media_type (no header, or a wildcard, admits all).
bool acceptable(const std::string& accept, const std::string& media_type) {
    if (accept.empty()) return true;
    for (const auto& item : split(accept, ',')) {
        std::string_view type = trim(item);
        type = trim(type.substr(0, type.find(';')));
        if (type == media_type || type == "*/*" || type == "application/*") return true;
    }
    return false;
}

bool is_supported(std::string_view type) {
    return oci::is_manifest_media_type(type) || oci::is_index_media_type(type);
}

class ManifestPutExchange : public Exchange {
  public:
    ManifestPutExchange(uint64_t limit, std::function<Response(const std::string&)> store)
        : limit_(limit), store_(std::move(store)) {}
    BodySink* body() override { return &sink_; }
    [[nodiscard]] uint64_t body_limit() const override { return limit_; }
    Response finish() override { return store_(sink_.data()); }

  private:
    BufferSink sink_;
    uint64_t limit_;
    std::function<Response(const std::string&)> store_;
};

}  // namespace

Response Router::serve_manifest(const RequestHead& head, const std::string& repo,
                                const std::string& reference) {
    auto digest = digest_reference(reference);
    if (proxy_) {
        if (auto fetched = proxy_->fetch_manifest(repo, reference)) digest = fetched;
    } else if (!digest) {
        digest = storage_.resolve_tag(repo, reference);
    }
    std::optional<StoredManifest> manifest;
    if (digest) manifest = storage_.read_manifest(repo, *digest);
    if (!manifest) {
        if (!storage_.repository_exists(repo) && !proxy_)
            throw ApiError(ErrorCode::name_unknown,
                           "repository name not known to registry: " + repo);
        throw ApiError(ErrorCode::manifest_unknown, "manifest unknown: " + repo + ":" + reference);
    }
    if (!acceptable(head.header("accept"), manifest->media_type)) {
        throw ApiError(
            ErrorCode::manifest_unknown,
            "manifest is " + manifest->media_type + ", which the Accept header does not admit",
            404);
    }
    Response response;
    response.header("Content-Type", manifest->media_type);
    response.header("Docker-Content-Digest", manifest->digest.str());
    response.header("ETag", "\"" + manifest->digest.str() + "\"");
    if (head.method == "HEAD") {
        response.header("Content-Length", std::to_string(manifest->bytes.size()));
    } else {
        response.body = std::move(manifest->bytes);
    }
    return response;
}

Response Router::store_manifest(const std::string& repo, const std::string& reference,
                                const std::string& content_type, const std::string& bytes) {
    const auto reference_digest = digest_reference(reference);
    nlohmann::json document;
    try {
        document = nlohmann::json::parse(bytes);
    } catch (const nlohmann::json::exception& e) {
        throw ApiError(ErrorCode::manifest_invalid,
                       std::string("manifest is not JSON: ") + e.what());
    }
    if (!document.is_object())
        throw ApiError(ErrorCode::manifest_invalid, "manifest is not a JSON object");
    std::string media_type = document.value("mediaType", std::string());
    std::string header_type(trim(content_type.substr(0, content_type.find(';'))));
    if (media_type.empty()) media_type = header_type;
    if (media_type.empty()) {
        // OCI allows the field to be absent; the shape decides.
        media_type = document.contains("manifests") ? std::string(oci::media_type::kOciIndex)
                                                    : std::string(oci::media_type::kOciManifest);
    }
    if (!header_type.empty() && header_type != media_type && is_supported(header_type))
        throw ApiError(ErrorCode::manifest_invalid,
                       "Content-Type " + header_type + " does not match the manifest's mediaType " +
                           media_type);
    if (!is_supported(media_type))
        throw ApiError(ErrorCode::manifest_invalid,
                       "unsupported manifest media type: " + media_type, 415);

    std::optional<Digest> subject;
    oci::Descriptor as_referrer;
    as_referrer.media_type = media_type;
    as_referrer.size = static_cast<int64_t>(bytes.size());
    try {
        if (oci::is_index_media_type(media_type)) {
            const oci::Index index = oci::parse_index(bytes, "manifest");
            for (const auto& entry : index.manifests) {
                if (!storage_.manifest_media_type(repo, entry.digest))
                    throw ApiError(ErrorCode::manifest_blob_unknown,
                                   "index references a manifest unknown to " + repo + ": " +
                                       entry.digest.str());
            }
            if (index.subject) subject = index.subject->digest;
            as_referrer.artifact_type = index.artifact_type;
            as_referrer.annotations = index.annotations;
        } else {
            const oci::Manifest manifest = oci::parse_manifest(bytes, "manifest");
            std::vector<const oci::Descriptor*> blobs{&manifest.config};
            for (const auto& layer : manifest.layers)
                blobs.push_back(&layer);
            for (const auto* blob : blobs) {
                // Foreign layers (urls) need not be in the registry.
                if (!blob->urls.empty()) continue;
                auto size = storage_.blob_size(repo, blob->digest);
                if (!size)
                    throw ApiError(ErrorCode::manifest_blob_unknown,
                                   "manifest references a blob unknown to " + repo + ": " +
                                       blob->digest.str());
                if (*size != blob->size)
                    throw ApiError(ErrorCode::manifest_invalid,
                                   "descriptor size of " + blob->digest.str() + " is " +
                                       std::to_string(blob->size) + ", the blob has " +
                                       std::to_string(*size));
            }
            if (manifest.subject) subject = manifest.subject->digest;
            as_referrer.artifact_type = manifest.artifact_type.empty() ? manifest.config.media_type
                                                                       : manifest.artifact_type;
            as_referrer.annotations = manifest.annotations;
        }
    } catch (const ApiError&) {
        throw;
    } catch (const Error& e) {
        throw ApiError(ErrorCode::manifest_invalid, e.what());
    }

    const Digest digest = digest_of(
        bytes, reference_digest ? reference_digest->algorithm() : DigestAlgorithm::sha256);
    if (reference_digest && *reference_digest != digest)
        throw ApiError(ErrorCode::digest_invalid,
                       "manifest digest is " + digest.str() + ", not " + reference_digest->str());
    as_referrer.digest = digest;
    {
        auto lock = image::FileLock(storage_.root() + "/gc.lock", true);
        storage_.put_manifest(repo, bytes, digest, media_type,
                              reference_digest ? std::string() : reference, subject, as_referrer);
    }
    Response response;
    response.status = 201;
    response.header("Location", "/v2/" + repo + "/manifests/" + digest.str());
    response.header("Docker-Content-Digest", digest.str());
    if (subject) response.header("OCI-Subject", subject->str());
    return response;
}

std::unique_ptr<Exchange> Router::manifest(const RequestHead& head, const Route& route) {
    const std::string& repo = route.repository;
    const std::string& reference = route.reference;
    if (head.method == "GET" || head.method == "HEAD") {
        authorizer_.authorize(head, {repo, {Action::pull}});
        digest_reference(reference);
        if (proxy_)
            return std::make_unique<DeferredExchange>(
                [this, head, repo, reference] { return serve_manifest(head, repo, reference); },
                true);
        return std::make_unique<ReadyExchange>(serve_manifest(head, repo, reference));
    }
    if (head.method == "PUT") {
        authorizer_.authorize(head, {repo, {Action::pull, Action::push}});
        require_writable();
        digest_reference(reference);
        return std::make_unique<ManifestPutExchange>(
            config_.max_manifest_size,
            [this, repo, reference, type = head.header("content-type")](const std::string& bytes) {
                return store_manifest(repo, reference, type, bytes);
            });
    }
    if (head.method == "DELETE") {
        authorizer_.authorize(head, {repo, {Action::del}});
        if (!config_.delete_enabled) throw ApiError(ErrorCode::unsupported, "deletes are disabled");
        auto digest = digest_reference(reference);
        const bool deleted =
            digest ? storage_.delete_manifest(repo, *digest) : storage_.delete_tag(repo, reference);
        if (!deleted)
            throw ApiError(ErrorCode::manifest_unknown,
                           "manifest unknown: " + repo + ":" + reference);
        Response response;
        response.status = 202;
        return std::make_unique<ReadyExchange>(std::move(response));
    }
    throw ApiError(ErrorCode::unsupported, "method not allowed", 405);
}

}  // namespace berth::registry
