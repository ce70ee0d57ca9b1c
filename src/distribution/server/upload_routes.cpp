// /v2/<name>/blobs/uploads/[<id>]: monolithic, chunked and resumed uploads, and
// cross-repository mounts with the fallback to a normal upload.
#include "distribution/server/names.hpp"
#include "distribution/server/router.hpp"

namespace berth::registry {
namespace {

std::string upload_location(const std::string& repo, const std::string& id) {
    return "/v2/" + repo + "/blobs/uploads/" + id;
}

std::string range_of(int64_t size) {
    return "0-" + std::to_string(size > 0 ? size - 1 : 0);
}

Response upload_progress(int status, const std::string& repo, const std::string& id, int64_t size) {
    Response response;
    response.status = status;
    response.header("Location", upload_location(repo, id));
    response.header("Range", range_of(size));
    response.header("Docker-Upload-UUID", id);
    return response;
}

Response blob_created(const std::string& repo, const Digest& digest) {
    Response response;
    response.status = 201;
    response.header("Location", "/v2/" + repo + "/blobs/" + digest.str());
    response.header("Docker-Content-Digest", digest.str());
    return response;
}

Digest required_digest(const RequestHead& head) {
    const std::string text = head.query_value("digest");
    auto digest = Digest::try_parse(text);
    if (!digest)
        throw ApiError(ErrorCode::digest_invalid,
                       text.empty() ? "digest parameter missing" : "invalid digest: " + text);
    return *digest;
}

// Appends the body to a session, then answers with what `then` makes of the new size.
class AppendExchange : public Exchange {
  public:
    AppendExchange(std::unique_ptr<UploadSink> sink, uint64_t limit,
                   std::function<Response(int64_t)> then, std::function<void()> abandon = {})
        : sink_(std::move(sink)),
          limit_(limit),
          then_(std::move(then)),
          abandon_(std::move(abandon)) {}
    ~AppendExchange() override {
        // The body never arrived whole: undo the chunk, and drop a one-request session.
        sink_.reset();
        if (!finished_ && abandon_) {
            try {
                abandon_();
            } catch (...) {
            }
        }
    }
    AppendExchange(const AppendExchange&) = delete;
    AppendExchange& operator=(const AppendExchange&) = delete;
    BodySink* body() override { return sink_.get(); }
    [[nodiscard]] uint64_t body_limit() const override { return limit_; }
    Response finish() override {
        finished_ = true;
        const int64_t size = sink_->commit();
        sink_.reset();  // unlocks the session before it is finished
        return then_(size);
    }

  private:
    std::unique_ptr<UploadSink> sink_;
    uint64_t limit_;
    std::function<Response(int64_t)> then_;
    std::function<void()> abandon_;
    bool finished_ = false;
};

}  // namespace

std::unique_ptr<Exchange> Router::upload_start(const RequestHead& head, const Route& route) {
    if (head.method != "POST") throw ApiError(ErrorCode::unsupported, "method not allowed", 405);
    authorizer_.authorize(head, {route.repository, {Action::pull, Action::push}});
    require_writable();
    const std::string& repo = route.repository;

    if (head.has_query("mount")) {
        auto digest = Digest::try_parse(head.query_value("mount"));
        const std::string from = head.query_value("from");
        bool mountable = false;
        if (digest && is_valid_repository_name(from)) {
            try {
                authorizer_.authorize(head, {from, {Action::pull}});
                mountable = storage_.has_blob(from, *digest);
            } catch (const ApiError&) {
                mountable = false;  // not readable by this client: a normal upload instead
            }
        }
        if (mountable) {
            auto lock = image::FileLock(storage_.root() + "/gc.lock", true);
            storage_.link_blob(repo, *digest);
            return std::make_unique<ReadyExchange>(blob_created(repo, *digest));
        }
    }

    if (head.has_query("digest")) {
        // Monolithic: the whole blob is this request's body.
        const Digest digest = required_digest(head);
        const std::string id = uploads_.start(repo);
        ++metrics_.uploads_started;
        auto sink = uploads_.append(repo, id, {}, head.content_length);
        return std::make_unique<AppendExchange>(
            std::move(sink), config_.max_body_size,
            [this, repo, id, digest](int64_t) {
                auto lock = image::FileLock(storage_.root() + "/gc.lock", true);
                uploads_.finish(repo, id, digest);
                ++metrics_.uploads_completed;
                return blob_created(repo, digest);
            },
            [this, repo, id] { uploads_.cancel(repo, id); });
    }

    const std::string id = uploads_.start(repo);
    ++metrics_.uploads_started;
    Response response = upload_progress(202, repo, id, 0);
    response.header("OCI-Chunk-Min-Length", "0");
    return std::make_unique<ReadyExchange>(std::move(response));
}

std::unique_ptr<Exchange> Router::upload(const RequestHead& head, const Route& route) {
    const std::string& repo = route.repository;
    const std::string& id = route.reference;
    if (head.method == "GET") {
        authorizer_.authorize(head, {repo, {Action::pull}});
        Response response = upload_progress(204, repo, id, uploads_.size(repo, id));
        return std::make_unique<ReadyExchange>(std::move(response));
    }
    authorizer_.authorize(head, {repo, {Action::pull, Action::push}});
    require_writable();
    if (head.method == "PATCH") {
        auto sink = uploads_.append(repo, id, head.header("content-range"), head.content_length);
        return std::make_unique<AppendExchange>(
            std::move(sink), config_.max_body_size,
            [repo, id](int64_t size) { return upload_progress(202, repo, id, size); });
    }
    if (head.method == "PUT") {
        const Digest digest = required_digest(head);
        auto sink = uploads_.append(repo, id, head.header("content-range"), head.content_length);
        return std::make_unique<AppendExchange>(
            std::move(sink), config_.max_body_size, [this, repo, id, digest](int64_t) {
                auto lock = image::FileLock(storage_.root() + "/gc.lock", true);
                uploads_.finish(repo, id, digest);
                ++metrics_.uploads_completed;
                return blob_created(repo, digest);
            });
    }
    if (head.method == "DELETE") {
        uploads_.cancel(repo, id);
        Response response;
        response.status = 204;
        return std::make_unique<ReadyExchange>(std::move(response));
    }
    throw ApiError(ErrorCode::unsupported, "method not allowed", 405);
}

}  // namespace berth::registry
