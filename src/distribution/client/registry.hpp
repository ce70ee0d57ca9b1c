// One registry over the OCI distribution API: ping, manifests (HEAD, GET, PUT by tag or
// digest), blobs (HEAD, GET resumed with Range, monolithic and chunked uploads,
// cross-repository mounts), tag listing and referrers. Every request carries the auth its
// scope needs (auth.hpp) and is retried with backoff on 5xx, 429 and broken connections.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/digest.hpp"
#include "distribution/client/auth.hpp"
#include "distribution/client/http.hpp"
#include "distribution/client/registry_error.hpp"
#include "image/content_store.hpp"
#include "image/settings.hpp"
#include "oci/descriptor.hpp"
#include "oci/image_index.hpp"

namespace berth::distribution {

struct RegistryOptions {
    bool insecure = false;  // plain HTTP allowed, TLS not verified
    std::string ca_file;    // certs.d/<registry>/ca.crt when present
    int retries = 4;
    std::chrono::milliseconds backoff{200};
};

struct FetchedManifest {
    std::string bytes;
    std::string media_type;  // Content-Type
    Digest digest;           // verified against the bytes
};

// Opens a stream of a blob's bytes from offset (uploads restart from where they need).
using BlobOpener = std::function<std::unique_ptr<image::ByteSource>(int64_t offset)>;
using ProgressCallback = std::function<void(int64_t done)>;

class Registry {
  public:
    Registry(HttpClient& http, std::string registry, std::optional<Credentials> credentials,
             RegistryOptions options);

    [[nodiscard]] const std::string& name() const { return registry_; }
    // GET /v2/: picks https (or http where allowed) and learns the auth challenge.
    void ping();
    // For login: the credentials work (a token for no scope, or GET /v2/ with basic auth).
    // Throws RegistryError (401) when they are rejected.
    void verify_credentials();

    // nullopt on 404.
    std::optional<oci::Descriptor> head_manifest(const std::string& repo, const std::string& ref);
    // ref: a tag or a digest. expected: the digest the bytes must have (else the one the
    // registry announced, else whatever they hash to).
    FetchedManifest get_manifest(const std::string& repo, const std::string& ref,
                                 const std::optional<Digest>& expected = std::nullopt);
    Digest put_manifest(const std::string& repo, const std::string& ref, const std::string& bytes,
                        const std::string& media_type);

    std::optional<int64_t> blob_size(const std::string& repo, const Digest& digest);
    // Streams the blob into writer (which verifies size and digest on commit, by the
    // caller). A broken connection resumes at writer.written() with a Range request.
    void fetch_blob(const std::string& repo, const oci::Descriptor& blob, image::BlobWriter& writer,
                    const ProgressCallback& progress = {},
                    const std::atomic<bool>* cancel = nullptr);
    std::string fetch_small_blob(const std::string& repo, const oci::Descriptor& blob);
    // POST ?mount=&from=: true when the registry mounted it (201).
    bool mount_blob(const std::string& repo, const Digest& digest, const std::string& from);
    // Monolithic (chunk_size 0 or size <= chunk_size: POST, PUT) or chunked (POST, PATCH...,
    // PUT). A failed attempt starts a new upload session.
    void upload_blob(const std::string& repo, const Digest& digest, int64_t size,
                     const BlobOpener& open, int64_t chunk_size,
                     const ProgressCallback& progress = {});

    std::vector<std::string> list_tags(const std::string& repo, int page_size = 0);
    // The referrers API, else the tag schema fallback (sha256-<hex>); artifact_type filters.
    oci::Index referrers(const std::string& repo, const Digest& subject,
                         const std::string& artifact_type = {});

  private:
    HttpResponse send(const std::string& scope, const std::function<HttpRequest()>& make,
                      const std::string& what, int retries);
    [[noreturn]] void fail(const HttpResponse& response, const std::string& what) const;
    std::string url(const std::string& path) const;
    std::string absolute(const std::string& location) const;
    void upload_once(const std::string& repo, const Digest& digest, int64_t size,
                     const BlobOpener& open, int64_t chunk_size, const ProgressCallback& progress);
    HttpRequest base_request() const;

    HttpClient& http_;
    std::string registry_;
    std::string host_;  // for connections
    RegistryOptions options_;
    Authenticator auth_;
    std::string base_;  // "https://host" after ping
    bool pinged_ = false;
};

// A Registry configured from settings (insecure, certs.d) and stored credentials.
std::unique_ptr<Registry> open_registry(HttpClient& http, const std::string& registry,
                                        const image::Settings& settings,
                                        const CredentialStore& credentials);

inline std::string pull_scope(const std::string& repo) {
    return "repository:" + repo + ":pull";
}
inline std::string push_scope(const std::string& repo) {
    return "repository:" + repo + ":pull,push";
}

}  // namespace berth::distribution
