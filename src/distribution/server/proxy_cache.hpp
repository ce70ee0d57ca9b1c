// The pull-through cache: with an upstream configured, a manifest or blob the storage lacks
// is fetched from upstream (the registry client of src/distribution/client), stored like a
// pushed one, and served; later requests are served locally. Tags are asked upstream again
// once their tag file is older than the TTL; when upstream cannot be reached, whatever is
// cached is served.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <optional>
#include <string>

#include "common/digest.hpp"
#include "distribution/client/http.hpp"
#include "distribution/server/config.hpp"
#include "distribution/server/metrics.hpp"
#include "distribution/server/storage.hpp"

namespace berth::distribution {
class Registry;
}

namespace berth::registry {

class ProxyCache {
  public:
    ProxyCache(const ProxyConfig& config, Storage& storage, Metrics& metrics);
    ~ProxyCache();

    // The digest to serve for reference (tag or digest), stored locally; nullopt when
    // neither upstream nor the cache has it.
    std::optional<Digest> fetch_manifest(const std::string& repo, const std::string& reference);
    // Makes the blob available in repo; false when upstream does not have it.
    bool fetch_blob(const std::string& repo, const Digest& digest);

    struct BlobStream {
        std::shared_ptr<image::ByteSource> source;  // null: the blob is in the store now
        int64_t size = 0;
    };
    // Starts fetching the blob into the store and returns its bytes as they arrive, so the
    // first client is served while the cache fills (the store still verifies the digest
    // before the blob becomes visible). nullopt when upstream does not have it.
    std::optional<BlobStream> stream_blob(const std::string& repo, const Digest& digest);
    // The blob's size upstream (HEAD), without fetching it; nullopt when unknown there.
    std::optional<int64_t> upstream_blob_size(const std::string& repo, const Digest& digest);

  private:
    std::unique_ptr<distribution::Registry> connect();
    const ProxyConfig& config_;
    Storage& storage_;
    Metrics& metrics_;
    std::string upstream_host_;
    bool insecure_ = false;
    std::unique_ptr<distribution::HttpClient> http_;
    boost::asio::thread_pool downloads_{4};  // joined (downloads finish) on destruction
};

}  // namespace berth::registry
