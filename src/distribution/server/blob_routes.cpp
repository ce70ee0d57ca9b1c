// GET/HEAD/DELETE /v2/<name>/blobs/<digest>: blobs go out by sendfile with Range support.
#include <cinttypes>

#include "common/strings.hpp"
#include "distribution/server/proxy_cache.hpp"
#include "distribution/server/router.hpp"

namespace berth::registry {
namespace {

struct ByteRange {
    uint64_t first = 0;
    uint64_t length = 0;
};

// A single "bytes=a-b", "bytes=a-" or "bytes=-n"; nullopt for a range that cannot be
// satisfied (416), which is also what several ranges get.
std::optional<ByteRange> parse_range(std::string_view text, uint64_t size) {
    if (!text.starts_with("bytes=")) return std::nullopt;
    text.remove_prefix(6);
    if (text.find(',') != std::string_view::npos) return std::nullopt;
    const size_t dash = text.find('-');
    if (dash == std::string_view::npos) return std::nullopt;
    const std::string_view first_text = trim(text.substr(0, dash));
    const std::string_view last_text = trim(text.substr(dash + 1));
    if (first_text.empty()) {
        auto suffix = parse_uint64(last_text);
        if (!suffix || *suffix == 0 || size == 0) return std::nullopt;
        const uint64_t length = std::min(*suffix, size);
        return ByteRange{size - length, length};
    }
    auto first = parse_uint64(first_text);
    if (!first || *first >= size) return std::nullopt;
    uint64_t last = size - 1;
    if (!last_text.empty()) {
        auto parsed = parse_uint64(last_text);
        if (!parsed || *parsed < *first) return std::nullopt;
        last = std::min(*parsed, size - 1);
    }
    return ByteRange{*first, last - *first + 1};
}

}  // namespace

Response Router::serve_blob(const RequestHead& head, const std::string& repo,
                            const Digest& digest) {
    auto size = storage_.blob_size(repo, digest);
    if (!size && proxy_) {
        const bool ranged = !head.header("range").empty();
        if (head.method == "HEAD" && !ranged) {
            // A HEAD needs no download.
            auto upstream_size = proxy_->upstream_blob_size(repo, digest);
            if (!upstream_size)
                throw ApiError(ErrorCode::blob_unknown,
                               "blob unknown to registry: " + digest.str());
            Response response;
            response.header("Content-Type", "application/octet-stream");
            response.header("Docker-Content-Digest", digest.str());
            response.header("Content-Length", std::to_string(*upstream_size));
            return response;
        }
        if (!ranged) {
            auto stream = proxy_->stream_blob(repo, digest);
            if (!stream)
                throw ApiError(ErrorCode::blob_unknown,
                               "blob unknown to registry: " + digest.str());
            if (stream->source) {
                Response response;
                response.header("Content-Type", "application/octet-stream");
                response.header("Docker-Content-Digest", digest.str());
                response.stream = std::move(stream->source);
                response.stream_length = static_cast<uint64_t>(stream->size);
                return response;
            }
        } else {
            proxy_->fetch_blob(repo,
                               digest);  // a range of a blob not here yet: fetch it whole first
        }
        size = storage_.blob_size(repo, digest);
    } else if (size && proxy_) {
        ++metrics_.cache_hits;
    }
    if (!size) throw ApiError(ErrorCode::blob_unknown, "blob unknown to registry: " + digest.str());
    const auto total = static_cast<uint64_t>(*size);
    Response response;
    response.header("Content-Type", "application/octet-stream");
    response.header("Docker-Content-Digest", digest.str());
    response.header("Accept-Ranges", "bytes");
    response.header("ETag", "\"" + digest.str() + "\"");
    response.header("Cache-Control", "max-age=31536000");
    ByteRange range{0, total};
    const std::string range_text = head.header("range");
    if (!range_text.empty()) {
        auto parsed = parse_range(range_text, total);
        if (!parsed) {
            ApiError error(ErrorCode::range_invalid, "range not satisfiable: " + range_text);
            error.headers.emplace_back("Content-Range", "bytes */" + std::to_string(total));
            throw error;
        }
        range = *parsed;
        response.status = 206;
        response.header("Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                             std::to_string(range.first + range.length - 1) + "/" +
                                             std::to_string(total));
    }
    FileBody file;
    if (head.method == "GET") file.fd = storage_.open_blob(digest);
    file.offset = static_cast<off_t>(range.first);
    file.length = range.length;
    response.file = std::move(file);
    return response;
}

std::unique_ptr<Exchange> Router::blob(const RequestHead& head, const Route& route) {
    auto digest = Digest::try_parse(route.reference);
    if (head.method == "GET" || head.method == "HEAD") {
        authorizer_.authorize(head, {route.repository, {Action::pull}});
        if (!digest)
            throw ApiError(ErrorCode::digest_invalid, "invalid digest: " + route.reference);
        if (proxy_ && !storage_.blob_size(route.repository, *digest)) {
            // The upstream fetch blocks: run it off the I/O threads.
            return std::make_unique<DeferredExchange>(
                [this, head, repo = route.repository, d = *digest] {
                    return serve_blob(head, repo, d);
                },
                true);
        }
        return std::make_unique<ReadyExchange>(serve_blob(head, route.repository, *digest));
    }
    if (head.method == "DELETE") {
        authorizer_.authorize(head, {route.repository, {Action::del}});
        if (!digest)
            throw ApiError(ErrorCode::digest_invalid, "invalid digest: " + route.reference);
        if (!config_.delete_enabled) throw ApiError(ErrorCode::unsupported, "deletes are disabled");
        if (!storage_.unlink_blob(route.repository, *digest))
            throw ApiError(ErrorCode::blob_unknown, "blob unknown to repository: " + digest->str());
        Response response;
        response.status = 202;
        return std::make_unique<ReadyExchange>(std::move(response));
    }
    throw ApiError(ErrorCode::unsupported, "method not allowed", 405);
}

}  // namespace berth::registry
