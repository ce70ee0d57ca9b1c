#include "distribution/client/push.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

namespace berth::distribution {
namespace {

// A blob from the store, from an offset.
class BlobSource : public image::ByteSource {
  public:
    BlobSource(image::ContentStore& store, const Digest& digest, int64_t offset)
        : fd_(store.open(digest)), inner_(fd_.get(), store.path(digest)) {
        if (offset > 0 && ::lseek(fd_.get(), offset, SEEK_SET) < 0)
            throw_errno("seek", store.path(digest));
    }
    size_t read(void* buffer, size_t size) override { return inner_.read(buffer, size); }

  private:
    UniqueFd fd_;
    image::FdSource inner_;
};

}  // namespace

PushResult push_image(image::Images& images, Registry& registry, const image::Image& image,
                      const image::Reference& destination, const PushOptions& options) {
    const std::string& repo = destination.repository;
    if (destination.digest && *destination.digest != image.record.id)
        throw Error("push " + destination.str() + ": the image's manifest is " +
                    image.record.id.str() + ", not " + destination.digest->str());
    TransferObserver* observer = options.observer;
    std::vector<oci::Descriptor> blobs = image.manifest.layers;
    blobs.push_back(image.manifest.config);

    auto push_blob = [&](const oci::Descriptor& blob) {
        if (auto size = registry.blob_size(repo, blob.digest); size && *size == blob.size) {
            if (observer) observer->end(blob.digest, "Layer already exists");
            return;
        }
        for (const auto& from : images.db().blob_sources(blob.digest, registry.name())) {
            if (from == repo) continue;
            if (registry.mount_blob(repo, blob.digest, from)) {
                if (observer) observer->end(blob.digest, "Mounted from " + from);
                return;
            }
        }
        if (observer) observer->begin(blob.digest, blob.size, "Uploading");
        registry.upload_blob(
            repo, blob.digest, blob.size,
            [&](int64_t offset) {
                return std::make_unique<BlobSource>(images.store(), blob.digest, offset);
            },
            options.chunk_size,
            [&](int64_t done) {
                if (observer) observer->progress(blob.digest, done);
            });
        if (observer) observer->end(blob.digest, "Pushed");
    };

    std::atomic<size_t> next{0};
    std::mutex failure_mutex;
    std::exception_ptr failure;
    std::atomic<bool> failed{false};
    auto worker = [&] {
        for (size_t i; !failed && (i = next.fetch_add(1)) < blobs.size();) {
            try {
                push_blob(blobs[i]);
            } catch (...) {
                std::lock_guard lock(failure_mutex);
                if (!failure) failure = std::current_exception();
                failed = true;
            }
        }
    };
    size_t threads = std::min<size_t>(blobs.size(), std::max(1, options.max_concurrent));
    std::vector<std::thread> pool;
    for (size_t t = 1; t < threads; ++t)
        pool.emplace_back(worker);
    worker();
    for (auto& t : pool)
        t.join();
    if (failure) std::rethrow_exception(failure);

    for (const auto& blob : blobs)
        images.db().add_blob_source(blob.digest, registry.name(), repo);
    std::string ref = destination.tag.empty() ? image.record.id.str() : destination.tag;
    PushResult result;
    result.digest = registry.put_manifest(repo, ref, image.manifest_bytes, image.record.media_type);
    if (observer)
        observer->status(destination.name() + ":" + ref + ": digest: " + result.digest.str() +
                         " size: " + std::to_string(image.manifest_bytes.size()));
    return result;
}

}  // namespace berth::distribution
