#include "distribution/server/proxy_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <future>

#include "common/log.hpp"
#include "distribution/client/registry.hpp"
#include "distribution/server/api_error.hpp"
#include "oci/media_types.hpp"

namespace berth::registry {
namespace {

bool is_fresh(const std::string& path, std::chrono::seconds ttl) {
    struct stat st {};
    if (::stat(path.c_str(), &st) < 0) return false;
    const auto modified =
        std::chrono::system_clock::time_point(std::chrono::seconds(st.st_mtim.tv_sec));
    return std::chrono::system_clock::now() - modified < ttl;
}

}  // namespace

ProxyCache::ProxyCache(const ProxyConfig& config, Storage& storage, Metrics& metrics)
    : config_(config),
      storage_(storage),
      metrics_(metrics),
      http_(std::make_unique<distribution::HttpClient>()) {
    std::string url = config.upstream;
    if (url.starts_with("http://")) {
        insecure_ = true;
        url = url.substr(7);
    } else if (url.starts_with("https://")) {
        url = url.substr(8);
    }
    while (!url.empty() && url.back() == '/')
        url.pop_back();
    upstream_host_ = url;
}

ProxyCache::~ProxyCache() {
    downloads_.join();
}

std::unique_ptr<distribution::Registry> ProxyCache::connect() {
    std::optional<distribution::Credentials> credentials;
    if (!config_.username.empty())
        credentials = distribution::Credentials{config_.username, config_.password, {}};
    distribution::RegistryOptions options;
    options.insecure = insecure_;
    options.retries = 1;  // a dead upstream should cost one try: the cache answers instead
    return std::make_unique<distribution::Registry>(*http_, upstream_host_, credentials, options);
}

std::optional<Digest> ProxyCache::fetch_manifest(const std::string& repo,
                                                 const std::string& reference) {
    const auto wanted = Digest::try_parse(reference);
    std::optional<Digest> cached = wanted ? wanted : storage_.resolve_tag(repo, reference);
    const bool have = cached && storage_.read_manifest(repo, *cached);
    const std::string tag_file = storage_.repository_dir(repo) + "/_tags/" + reference;
    if (have && (wanted || is_fresh(tag_file, config_.ttl))) {
        ++metrics_.cache_hits;
        return cached;
    }
    try {
        auto upstream = connect();
        if (have && !wanted) {
            // Revalidate: a HEAD tells whether the tag moved.
            auto head = upstream->head_manifest(repo, reference);
            if (head && head->digest == *cached) {
                ::utimensat(AT_FDCWD, tag_file.c_str(), nullptr, 0);
                ++metrics_.cache_hits;
                return cached;
            }
            if (!head) return std::nullopt;
        }
        ++metrics_.cache_misses;
        auto fetched = upstream->get_manifest(repo, reference, wanted);
        std::optional<Digest> subject;
        oci::Descriptor as_referrer;
        auto lock = image::FileLock(storage_.root() + "/gc.lock", true);
        storage_.put_manifest(repo, fetched.bytes, fetched.digest, fetched.media_type,
                              wanted ? std::string() : reference, subject, as_referrer);
        return fetched.digest;
    } catch (const distribution::RegistryError& e) {
        if (e.status() == 404) return std::nullopt;
        log::warn("upstream " + config_.upstream + ": " + e.what() +
                  (have ? " (serving the cached copy)" : ""));
    } catch (const std::exception& e) {
        log::warn("upstream " + config_.upstream + ": " + e.what() +
                  (have ? " (serving the cached copy)" : ""));
    }
    if (have) {
        ++metrics_.cache_hits;
        return cached;
    }
    throw ApiError(ErrorCode::manifest_unknown,
                   "manifest unknown and upstream unreachable: " + repo + ":" + reference, 404);
}

bool ProxyCache::fetch_blob(const std::string& repo, const Digest& digest) {
    auto& store = storage_.blobs();
    auto blob_lock = store.lock(digest);  // one download per blob, however many clients ask
    if (store.has(digest)) {
        ++metrics_.cache_hits;
        storage_.link_blob(repo, digest);
        return true;
    }
    ++metrics_.cache_misses;
    try {
        auto upstream = connect();
        auto size = upstream->blob_size(repo, digest);
        if (!size) return false;
        oci::Descriptor descriptor;
        descriptor.media_type = oci::media_type::kOciLayer;
        descriptor.digest = digest;
        descriptor.size = *size;
        auto writer = store.writer(digest, *size, "blob " + digest.str());
        upstream->fetch_blob(repo, descriptor, writer);
        auto lock = image::FileLock(storage_.root() + "/gc.lock", true);
        writer.commit();
        storage_.link_blob(repo, digest);
        return true;
    } catch (const distribution::RegistryError& e) {
        if (e.status() == 404) return false;
        log::warn("upstream " + config_.upstream + ": " + e.what());
    } catch (const std::exception& e) {
        log::warn("upstream " + config_.upstream + ": " + e.what());
    }
    throw ApiError(ErrorCode::blob_unknown,
                   "blob unknown and upstream unreachable: " + digest.str(), 404);
}

}  // namespace berth::registry

namespace berth::registry {

std::optional<int64_t> ProxyCache::upstream_blob_size(const std::string& repo,
                                                      const Digest& digest) {
    if (auto size = storage_.blobs().size(digest)) return size;
    try {
        return connect()->blob_size(repo, digest);
    } catch (const distribution::RegistryError& e) {
        if (e.status() == 404) return std::nullopt;
        log::warn("upstream " + config_.upstream + ": " + e.what());
    } catch (const std::exception& e) {
        log::warn("upstream " + config_.upstream + ": " + e.what());
    }
    throw ApiError(ErrorCode::blob_unknown,
                   "blob unknown and upstream unreachable: " + digest.str(), 404);
}

std::optional<ProxyCache::BlobStream> ProxyCache::stream_blob(const std::string& repo,
                                                              const Digest& digest) {
    auto& store = storage_.blobs();
    if (store.has(digest)) {
        ++metrics_.cache_hits;
        storage_.link_blob(repo, digest);
        return BlobStream{};
    }
    auto size = upstream_blob_size(repo, digest);
    if (!size) return std::nullopt;
    ++metrics_.cache_misses;
    auto ready = std::make_shared<std::promise<std::shared_ptr<image::ByteSource>>>();
    auto follower = ready->get_future();
    boost::asio::post(downloads_, [this, ready, repo, digest, expected_size = *size] {
        bool handed_over = false;
        try {
            auto& blobs = storage_.blobs();
            auto blob_lock = blobs.lock(digest);  // one download per blob
            if (blobs.has(digest)) {
                storage_.link_blob(repo, digest);
                ready->set_value(nullptr);
                return;
            }
            auto writer = blobs.writer(digest, expected_size, "blob " + digest.str());
            ready->set_value(std::shared_ptr<image::ByteSource>(writer.follow()));
            handed_over = true;
            oci::Descriptor descriptor;
            descriptor.media_type = oci::media_type::kOciLayer;
            descriptor.digest = digest;
            descriptor.size = expected_size;
            try {
                connect()->fetch_blob(repo, descriptor, writer);
                auto lock = image::FileLock(storage_.root() + "/gc.lock", true);
                writer.commit();
                storage_.link_blob(repo, digest);
            } catch (const std::exception& e) {
                writer.fail(e.what());  // the client's stream breaks off; nothing is stored
                log::warn("upstream " + config_.upstream + ": " + e.what());
            }
        } catch (...) {
            if (!handed_over) ready->set_exception(std::current_exception());
        }
    });
    return BlobStream{follower.get(), *size};
}

}  // namespace berth::registry
