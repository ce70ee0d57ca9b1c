#include "distribution/client/registry.hpp"

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "common/log.hpp"
#include "common/strings.hpp"
#include "image/reference.hpp"
#include "oci/distribution_error.hpp"
#include "oci/image_manifest.hpp"
#include "oci/media_types.hpp"

namespace berth::distribution {
namespace {

bool retryable(long status) {
    return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

std::chrono::milliseconds backoff_for(const RegistryOptions& o, int attempt,
                                      const HttpResponse* response) {
    if (response) {
        if (auto after = response->header("retry-after")) {
            if (auto seconds = parse_uint64(*after); seconds && *seconds <= 30)
                return std::chrono::seconds(*seconds);
        }
    }
    auto delay = o.backoff * (1 << std::min(attempt, 5));
    return std::min<std::chrono::milliseconds>(delay, std::chrono::seconds(5));
}

// "<url>; rel=\"next\"" -> url
std::optional<std::string> next_link(const HttpResponse& r) {
    auto link = r.header("link");
    if (!link || link->find("rel=\"next\"") == std::string::npos) return std::nullopt;
    size_t open = link->find('<'), close = link->find('>');
    if (open == std::string::npos || close == std::string::npos || close < open)
        return std::nullopt;
    return link->substr(open + 1, close - open - 1);
}

}  // namespace

Registry::Registry(HttpClient& http, std::string registry, std::optional<Credentials> credentials,
                   RegistryOptions options)
    : http_(http),
      registry_(std::move(registry)),
      host_(image::Reference{registry_, "x", "", std::nullopt}.endpoint_host()),
      options_(std::move(options)),
      auth_(http, registry_, std::move(credentials), !options_.insecure, options_.ca_file) {}

HttpRequest Registry::base_request() const {
    HttpRequest r;
    r.verify_tls = !options_.insecure;
    r.ca_file = options_.ca_file;
    return r;
}

std::string Registry::url(const std::string& path) const {
    return base_ + path;
}

std::string Registry::absolute(const std::string& location) const {
    if (location.starts_with("http://") || location.starts_with("https://")) return location;
    return base_ + (location.starts_with("/") ? "" : "/") + location;
}

void Registry::ping() {
    if (pinged_) return;
    // Loopback registries are nearly always plain HTTP: try that first (a TLS hello to a
    // plain server costs a round trip, or a timeout with a quiet one). Other insecure
    // registries: HTTPS without verification, then HTTP, as docker does.
    std::vector<std::string> schemes{"https"};
    if (image::is_loopback_registry(registry_))
        schemes.insert(schemes.begin(), "http");
    else if (options_.insecure)
        schemes.emplace_back("http");
    std::string last_error;
    for (const auto& scheme : schemes) {
        HttpRequest r = base_request();
        r.url = scheme + "://" + host_ + "/v2/";
        r.timeout_seconds = 10;
        HttpResponse response;
        try {
            response = http_.perform(r);
        } catch (const TransportError& e) {
            last_error = e.what();
            continue;
        }
        if (response.status == 401) {
            auth_.challenged(response);
        } else if (response.status == 404 || response.status >= 500) {
            last_error = "GET " + r.url + ": HTTP " + std::to_string(response.status) +
                         " (not an OCI registry?)";
            continue;
        } else if (response.status != 200) {
            last_error = "GET " + r.url + ": HTTP " + std::to_string(response.status);
            continue;
        }
        base_ = scheme + "://" + host_;
        pinged_ = true;
        return;
    }
    throw TransportError("registry " + registry_ + " is unreachable: " + last_error);
}

void Registry::verify_credentials() {
    ping();
    std::string what = "login to " + registry_;
    HttpResponse r = send(
        "",
        [&] {
            HttpRequest q = base_request();
            q.url = url("/v2/");
            return q;
        },
        what, options_.retries);
    if (r.status != 200) fail(r, what);
}

[[noreturn]] void Registry::fail(const HttpResponse& response, const std::string& what) const {
    auto errors = oci::parse_distribution_errors(response.body);
    std::string code = errors.empty() ? "" : errors.front().code;
    std::string detail = oci::describe_distribution_errors(response.body);
    std::string message = what + ": ";
    switch (response.status) {
        case 401:
            message += auth_.has_credentials()
                           ? "credentials rejected"
                           : "authentication required (berth login " + registry_ + ")";
            break;
        case 403:
            message += "access denied";
            break;
        case 404:
            message += "not found";
            break;
        default:
            message += "registry error";
            break;
    }
    message += " (HTTP " + std::to_string(response.status);
    if (!detail.empty()) message += " " + detail;
    message += ")";
    throw RegistryError(response.status, code, message);
}

HttpResponse Registry::send(const std::string& scope, const std::function<HttpRequest()>& make,
                            const std::string& what, int retries) {
    ping();
    bool reauthenticated = false;
    for (int attempt = 0;; ++attempt) {
        HttpRequest request = make();
        std::string auth = auth_.header_for(scope);
        if (!auth.empty()) request.headers.push_back(auth);
        HttpResponse response;
        try {
            response = http_.perform(request);
        } catch (const TransportError& e) {
            if (attempt >= retries) throw TransportError(what + ": " + e.what());
            log::debug(std::string("retrying after: ") + e.what());
            std::this_thread::sleep_for(backoff_for(options_, attempt, nullptr));
            continue;
        }
        if (response.status == 401 && !reauthenticated) {
            // The first 401 teaches the scheme, or says a cached token expired.
            reauthenticated = true;
            auth_.challenged(response);
            auth_.invalidate(scope);
            if (auth_.has_challenge()) {
                --attempt;
                continue;
            }
        }
        if (retryable(response.status) && attempt < retries) {
            log::debug(what + ": HTTP " + std::to_string(response.status) + ", retrying");
            std::this_thread::sleep_for(backoff_for(options_, attempt, &response));
            continue;
        }
        return response;
    }
}

std::optional<oci::Descriptor> Registry::head_manifest(const std::string& repo,
                                                       const std::string& ref) {
    std::string what = "manifest " + registry_ + "/" + repo + ":" + ref;
    HttpResponse r = send(
        pull_scope(repo),
        [&] {
            HttpRequest q = base_request();
            q.method = "HEAD";
            q.url = url("/v2/" + repo + "/manifests/" + ref);
            q.headers.push_back("Accept: " + std::string(oci::kManifestAccept));
            return q;
        },
        what, options_.retries);
    if (r.status == 404) return std::nullopt;
    if (r.status != 200) fail(r, what);
    oci::Descriptor d;
    auto digest = r.header("docker-content-digest");
    if (!digest) return std::nullopt;  // cannot tell without the body
    auto parsed = Digest::try_parse(*digest);
    if (!parsed) return std::nullopt;
    d.digest = *parsed;
    d.media_type = r.header("content-type").value_or("");
    d.size =
        static_cast<int64_t>(parse_uint64(r.header("content-length").value_or("0")).value_or(0));
    return d;
}

FetchedManifest Registry::get_manifest(const std::string& repo, const std::string& ref,
                                       const std::optional<Digest>& expected) {
    std::string what = "manifest " + registry_ + "/" + repo +
                       (ref.find(':') == std::string::npos ? ":" : "@") + ref;
    HttpResponse r = send(
        pull_scope(repo),
        [&] {
            HttpRequest q = base_request();
            q.url = url("/v2/" + repo + "/manifests/" + ref);
            q.headers.push_back("Accept: " + std::string(oci::kManifestAccept));
            q.max_body = 4 * 1024 * 1024;
            return q;
        },
        what, options_.retries);
    if (r.status != 200) fail(r, what);
    FetchedManifest m;
    m.bytes = std::move(r.body);
    m.media_type = r.header("content-type").value_or("");
    std::optional<Digest> want = expected;
    if (!want) want = Digest::try_parse(ref);
    if (!want) {
        if (auto header = r.header("docker-content-digest")) want = Digest::try_parse(*header);
    }
    DigestAlgorithm algorithm = want ? want->algorithm() : DigestAlgorithm::sha256;
    m.digest = digest_of(m.bytes, algorithm);
    if (want && m.digest != *want)
        throw image::BlobVerificationError(what + ": digest mismatch: expected " + want->str() +
                                           ", the content hashes to " + m.digest.str());
    return m;
}

Digest Registry::put_manifest(const std::string& repo, const std::string& ref,
                              const std::string& bytes, const std::string& media_type) {
    std::string what = "manifest push to " + registry_ + "/" + repo + ":" + ref;
    HttpResponse r = send(
        push_scope(repo),
        [&] {
            HttpRequest q = base_request();
            q.method = "PUT";
            q.url = url("/v2/" + repo + "/manifests/" + ref);
            q.headers.push_back("Content-Type: " + media_type);
            q.body = bytes;
            return q;
        },
        what, options_.retries);
    if (r.status != 201 && r.status != 200) fail(r, what);
    Digest digest = digest_of(bytes);
    if (auto header = r.header("docker-content-digest")) {
        if (auto announced = Digest::try_parse(*header); announced && *announced != digest)
            throw Error(what + ": the registry stored " + announced->str() + ", we sent " +
                        digest.str());
    }
    return digest;
}

std::optional<int64_t> Registry::blob_size(const std::string& repo, const Digest& digest) {
    std::string what = "blob " + digest.str() + " in " + registry_ + "/" + repo;
    HttpResponse r = send(
        pull_scope(repo),
        [&] {
            HttpRequest q = base_request();
            q.method = "HEAD";
            q.url = url("/v2/" + repo + "/blobs/" + digest.str());
            return q;
        },
        what, options_.retries);
    if (r.status == 404) return std::nullopt;
    if (r.status != 200) fail(r, what);
    return static_cast<int64_t>(parse_uint64(r.header("content-length").value_or("0")).value_or(0));
}

void Registry::fetch_blob(const std::string& repo, const oci::Descriptor& blob,
                          image::BlobWriter& writer, const ProgressCallback& progress,
                          const std::atomic<bool>* cancel) {
    std::string what = "blob " + blob.digest.str() + " from " + registry_ + "/" + repo;
    int failures = 0;
    for (;;) {
        int64_t offset = writer.written();
        if (offset == blob.size && blob.size > 0) return;
        int64_t skip = 0;  // a server that ignores Range sends the blob from the start
        bool first_chunk = true;
        HttpResponse r;
        try {
            r = send(
                pull_scope(repo),
                [&] {
                    // Built again for every attempt: resume where the last one stopped.
                    offset = writer.written();
                    first_chunk = true;
                    skip = 0;
                    HttpRequest q = base_request();
                    q.url = url("/v2/" + repo + "/blobs/" + blob.digest.str());
                    if (offset > 0)
                        q.headers.push_back("Range: bytes=" + std::to_string(offset) + "-");
                    q.on_data = [&](long status, const char* data, size_t size) {
                        if (cancel && cancel->load()) return false;
                        if (first_chunk) {
                            first_chunk = false;
                            skip = (status == 200) ? offset : 0;
                        }
                        if (skip > 0) {
                            size_t n = std::min<size_t>(size, static_cast<size_t>(skip));
                            skip -= static_cast<int64_t>(n);
                            data += n;
                            size -= n;
                        }
                        if (size > 0) writer.write(data, size);
                        if (progress) progress(writer.written());
                        return true;
                    };
                    return q;
                },
                what, options_.retries);
        } catch (const TransportError& e) {
            if (cancel && cancel->load()) throw Error(what + ": cancelled");
            // Progress since the last attempt resets the count: a flaky link still finishes.
            if (writer.written() > offset) failures = 0;
            if (++failures > options_.retries) throw;
            log::debug(std::string("resuming after: ") + e.what());
            std::this_thread::sleep_for(backoff_for(options_, failures - 1, nullptr));
            continue;
        }
        if (r.status == 416 && offset > 0) continue;  // nothing left to send: re-check size
        if (r.status != 200 && r.status != 206) fail(r, what);
        return;
    }
}

std::string Registry::fetch_small_blob(const std::string& repo, const oci::Descriptor& blob) {
    std::string what = "blob " + blob.digest.str() + " from " + registry_ + "/" + repo;
    HttpResponse r = send(
        pull_scope(repo),
        [&] {
            HttpRequest q = base_request();
            q.url = url("/v2/" + repo + "/blobs/" + blob.digest.str());
            q.max_body = 16 * 1024 * 1024;
            return q;
        },
        what, options_.retries);
    if (r.status != 200) fail(r, what);
    if (static_cast<int64_t>(r.body.size()) != blob.size)
        throw image::BlobVerificationError(what + ": truncated: got " +
                                           std::to_string(r.body.size()) + " of " +
                                           std::to_string(blob.size) + " bytes");
    Digest got = digest_of(r.body, blob.digest.algorithm());
    if (got != blob.digest)
        throw image::BlobVerificationError(what + ": digest mismatch: the content hashes to " +
                                           got.str());
    return std::move(r.body);
}

bool Registry::mount_blob(const std::string& repo, const Digest& digest, const std::string& from) {
    std::string what = "mount of " + digest.str() + " from " + from + " into " + repo;
    HttpResponse r = send(
        push_scope(repo) + " " + pull_scope(from),
        [&] {
            HttpRequest q = base_request();
            q.method = "POST";
            q.url = url("/v2/" + repo + "/blobs/uploads/?mount=" + url_escape(digest.str()) +
                        "&from=" + url_escape(from));
            return q;
        },
        what, options_.retries);
    if (r.status == 201) return true;
    if (r.status == 202) {
        // The registry started an upload instead: cancel it.
        if (auto location = r.header("location")) {
            try {
                std::string target = absolute(*location);
                send(
                    push_scope(repo),
                    [&] {
                        HttpRequest q = base_request();
                        q.method = "DELETE";
                        q.url = target;
                        return q;
                    },
                    what, 0);
            } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): best effort
            }
        }
        return false;
    }
    if (r.status == 404 || r.status == 401 || r.status == 403) return false;
    fail(r, what);
}

void Registry::upload_blob(const std::string& repo, const Digest& digest, int64_t size,
                           const BlobOpener& open, int64_t chunk_size,
                           const ProgressCallback& progress) {
    for (int attempt = 0;; ++attempt) {
        try {
            upload_once(repo, digest, size, open, chunk_size, progress);
            return;
        } catch (const TransportError&) {
            if (attempt >= options_.retries) throw;
        } catch (const RegistryError& e) {
            if (!retryable(e.status()) || attempt >= options_.retries) throw;
        }
        std::this_thread::sleep_for(backoff_for(options_, attempt, nullptr));
    }
}

void Registry::upload_once(const std::string& repo, const Digest& digest, int64_t size,
                           const BlobOpener& open, int64_t chunk_size,
                           const ProgressCallback& progress) {
    std::string what = "upload of " + digest.str() + " to " + registry_ + "/" + repo;
    HttpResponse started = send(
        push_scope(repo),
        [&] {
            HttpRequest q = base_request();
            q.method = "POST";
            q.url = url("/v2/" + repo + "/blobs/uploads/");
            return q;
        },
        what, options_.retries);
    if (started.status != 202) fail(started, what);
    auto location = started.header("location");
    if (!location) throw Error(what + ": the registry gave no upload location");
    std::string target = absolute(*location);

    // A source that reports progress as curl reads it.
    class Counting : public image::ByteSource {
      public:
        Counting(std::unique_ptr<image::ByteSource> inner, int64_t base, int64_t limit,
                 const ProgressCallback& progress)
            : inner_(std::move(inner)), done_(base), left_(limit), progress_(progress) {}
        size_t read(void* buffer, size_t size) override {
            size = std::min<size_t>(size, static_cast<size_t>(left_));
            size_t n = size ? inner_->read(buffer, size) : 0;
            left_ -= static_cast<int64_t>(n);
            done_ += static_cast<int64_t>(n);
            if (progress_ && n) progress_(done_);
            return n;
        }

      private:
        std::unique_ptr<image::ByteSource> inner_;
        int64_t done_, left_;
        const ProgressCallback& progress_;
    };
    auto with_digest = [&](const std::string& base) {
        return base + (base.find('?') == std::string::npos ? "?" : "&") +
               "digest=" + url_escape(digest.str());
    };

    if (chunk_size <= 0 || size <= chunk_size) {
        std::unique_ptr<image::ByteSource> source;
        HttpResponse put = send(
            push_scope(repo),
            [&] {
                source = std::make_unique<Counting>(open(0), 0, size, progress);
                HttpRequest q = base_request();
                q.method = "PUT";
                q.url = with_digest(target);
                q.headers.emplace_back("Content-Type: application/octet-stream");
                q.body_source = source.get();
                q.body_size = size;
                return q;
            },
            what, 0);
        if (put.status != 201) fail(put, what);
        return;
    }
    int64_t offset = 0;
    while (offset < size) {
        int64_t length = std::min(chunk_size, size - offset);
        std::unique_ptr<image::ByteSource> source;
        HttpResponse patch = send(
            push_scope(repo),
            [&] {
                source = std::make_unique<Counting>(open(offset), offset, length, progress);
                HttpRequest q = base_request();
                q.method = "PATCH";
                q.url = target;
                q.headers.emplace_back("Content-Type: application/octet-stream");
                q.headers.push_back("Content-Range: " + std::to_string(offset) + "-" +
                                    std::to_string(offset + length - 1));
                q.body_source = source.get();
                q.body_size = length;
                return q;
            },
            what, 0);
        if (patch.status != 202) fail(patch, what);
        if (auto next = patch.header("location")) target = absolute(*next);
        offset += length;
    }
    HttpResponse put = send(
        push_scope(repo),
        [&] {
            HttpRequest q = base_request();
            q.method = "PUT";
            q.url = with_digest(target);
            return q;
        },
        what, 0);
    if (put.status != 201) fail(put, what);
}

std::vector<std::string> Registry::list_tags(const std::string& repo, int page_size) {
    std::string what = "tags of " + registry_ + "/" + repo;
    std::vector<std::string> tags;
    std::string next = "/v2/" + repo + "/tags/list";
    if (page_size > 0) next += "?n=" + std::to_string(page_size);
    for (int page = 0; page < 10000 && !next.empty(); ++page) {
        HttpResponse r = send(
            pull_scope(repo),
            [&] {
                HttpRequest q = base_request();
                q.url = absolute(next);
                return q;
            },
            what, options_.retries);
        if (r.status != 200) fail(r, what);
        nlohmann::json doc = nlohmann::json::parse(r.body, nullptr, false);
        if (!doc.is_object()) throw Error(what + ": invalid JSON");
        if (doc.contains("tags") && doc["tags"].is_array())
            for (const auto& t : doc["tags"])
                if (t.is_string()) tags.push_back(t.get<std::string>());
        next = next_link(r).value_or("");
    }
    return tags;
}

oci::Index Registry::referrers(const std::string& repo, const Digest& subject,
                               const std::string& artifact_type) {
    std::string what = "referrers of " + subject.str() + " in " + registry_ + "/" + repo;
    HttpResponse r = send(
        pull_scope(repo),
        [&] {
            HttpRequest q = base_request();
            q.url =
                url("/v2/" + repo + "/referrers/" + subject.str() +
                    (artifact_type.empty() ? "" : "?artifactType=" + url_escape(artifact_type)));
            q.headers.push_back("Accept: " + std::string(oci::media_type::kOciIndex));
            return q;
        },
        what, options_.retries);
    oci::Index index;
    if (r.status == 200) {
        index = oci::parse_index(r.body, what);
    } else if (r.status == 404) {
        // No referrers API: the tag schema, <alg>-<hex>.
        std::string tag = std::string(subject.algorithm_name()) + "-" + subject.hex();
        try {
            index = oci::parse_index(get_manifest(repo, tag).bytes, what);
        } catch (const RegistryError& e) {
            if (e.status() != 404) throw;
            return index;
        }
    } else {
        fail(r, what);
    }
    if (!artifact_type.empty()) {
        std::erase_if(index.manifests,
                      [&](const oci::Descriptor& d) { return d.artifact_type != artifact_type; });
    }
    return index;
}

std::unique_ptr<Registry> open_registry(HttpClient& http, const std::string& registry,
                                        const image::Settings& settings,
                                        const CredentialStore& credentials) {
    RegistryOptions options;
    options.insecure = settings.is_insecure(registry);
    for (const char* dir : {"/etc/berth/certs.d/", "/etc/docker/certs.d/"}) {
        std::string ca = std::string(dir) + registry + "/ca.crt";
        if (::access(ca.c_str(), R_OK) == 0) {
            options.ca_file = ca;
            break;
        }
    }
    return std::make_unique<Registry>(http, registry, credentials.get(registry), options);
}

}  // namespace berth::distribution
