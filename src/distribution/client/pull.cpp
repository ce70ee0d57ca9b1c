#include "distribution/client/pull.hpp"

#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <thread>

#include "common/log.hpp"
#include "image/gc.hpp"
#include "image/layer_unpack.hpp"
#include "image/platform.hpp"
#include "oci/image_index.hpp"
#include "oci/media_types.hpp"

namespace berth::distribution {
namespace {

// What a pull added, for cleanup when it fails.
struct Added {
    std::mutex mutex;
    std::vector<Digest> blobs;
    std::vector<Digest> snapshots;
    void blob(const Digest& d) {
        std::lock_guard lock(mutex);
        blobs.push_back(d);
    }
    void snapshot(const Digest& d) {
        std::lock_guard lock(mutex);
        snapshots.push_back(d);
    }
};

bool complete(image::Images& images, const image::ImageRecord& record) {
    try {
        image::Image image = images.load(record);
        for (const auto& chain : image.chain)
            if (!images.snapshots().has(chain)) return false;
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

bool platform_of_config_matches(image::Images& images, const image::ImageRecord& record,
                                const oci::Platform& want) {
    try {
        auto config = oci::parse_image_config(images.store().read(record.config), "config");
        return image::platform_matches(
            want,
            oci::Platform{config.architecture, config.os, config.os_version, {}, config.variant});
    } catch (const std::exception&) {
        return false;
    }
}

class Puller {
  public:
    Puller(image::Images& images, Registry& registry, const image::Reference& ref,
           const PullOptions& options)
        : images_(images), registry_(registry), ref_(ref), options_(options) {}

    PullResult run(const std::optional<oci::Descriptor>& head, const std::string& name);
    // After a failure: the blobs and snapshots this pull made that no image uses.
    void discard() {
        image::discard_unreferenced_snapshots(images_, added_.snapshots);
        image::discard_unreferenced_blobs(images_, added_.blobs);
    }

  private:
    void status(const std::string& line) const {
        if (options_.observer) options_.observer->status(line);
    }
    void pull_layer(size_t i);
    void pull_layers();

    image::Images& images_;
    Registry& registry_;
    const image::Reference& ref_;
    const PullOptions& options_;
    image::Image image_;  // manifest, config and chain: what ensure_snapshot needs
    Added added_;
    std::mutex prepared_mutex_;
    std::vector<image::PreparedSnapshot>
        prepared_;  // published together when all layers are unpacked
};

void Puller::pull_layer(size_t i) {
    const oci::Descriptor& layer = image_.manifest.layers[i];
    const Digest& chain = image_.chain[i];
    TransferObserver* observer = options_.observer;
    image::ContentStore& store = images_.store();
    if (store.has(layer.digest) && images_.snapshots().has(chain)) {
        if (observer) observer->end(layer.digest, "Already exists");
        return;
    }
    // Another pull of the same blob (this process or another): wait for it, then reuse.
    image::FileLock held = store.lock(layer.digest);
    if (store.has(layer.digest)) {
        bool made = !images_.snapshots().has(chain);
        images_.ensure_snapshot(image_, i);
        if (made) added_.snapshot(chain);
        if (observer) observer->end(layer.digest, made ? "Unpacked" : "Already exists");
        return;
    }
    std::string what = "layer " + layer.digest.str();
    auto started = std::chrono::steady_clock::now();
    image::BlobWriter writer = store.writer(layer.digest, layer.size, what);
    if (observer) observer->begin(layer.digest, layer.size, "Downloading");
    std::atomic<bool> cancel{false};
    std::exception_ptr unpack_error;
    std::optional<image::PreparedSnapshot> prepared;
    std::thread unpacker([&] {
        try {
            prepared = images_.snapshots().prepare(chain, [&](int fs_fd) {
                auto source = writer.follow();
                image::UnpackResult r = image::unpack_layer(
                    *source, fs_fd, image::WhiteoutMode::overlay, image_.config.diff_ids[i], what);
                images_.db().put_layer({layer.digest, r.diff_id, r.size});
                image::SnapshotInfo info;
                info.chain_id = chain;
                if (i > 0) info.parent = image_.chain[i - 1];
                info.diff_id = r.diff_id;
                info.blob = layer.digest;
                info.size = r.size;
                info.entries = static_cast<int64_t>(r.stats.entries);
                return info;
            });
        } catch (...) {
            unpack_error = std::current_exception();
            cancel = true;
        }
    });
    try {
        registry_.fetch_blob(
            ref_.repository, layer, writer,
            [&](int64_t done) {
                if (observer) observer->progress(layer.digest, done);
            },
            &cancel);
        writer.commit();
        added_.blob(layer.digest);
    } catch (const std::exception& e) {
        writer.fail(e.what());
        unpacker.join();
        if (unpack_error && cancel) std::rethrow_exception(unpack_error);
        throw;
    }
    auto downloaded = std::chrono::steady_clock::now();
    unpacker.join();
    if (unpack_error) std::rethrow_exception(unpack_error);
    if (prepared) {
        added_.snapshot(chain);
        std::lock_guard lock(prepared_mutex_);
        prepared_.push_back(std::move(*prepared));
    }
    if (log::debug_enabled()) {
        auto ms = [&](auto t) {
            return std::to_string(
                std::chrono::duration_cast<std::chrono::milliseconds>(t - started).count());
        };
        log::debug(what + ": downloaded in " + ms(downloaded) + " ms, unpacked in " +
                   ms(std::chrono::steady_clock::now()) + " ms");
    }
    if (observer) observer->end(layer.digest, "Pull complete");
}

void Puller::pull_layers() {
    size_t count = image_.manifest.layers.size();
    std::atomic<size_t> next{0};
    std::mutex failure_mutex;
    std::exception_ptr failure;
    std::atomic<bool> failed{false};
    auto worker = [&] {
        for (size_t i; !failed && (i = next.fetch_add(1)) < count;) {
            try {
                pull_layer(i);
            } catch (...) {
                std::lock_guard lock(failure_mutex);
                if (!failure) failure = std::current_exception();
                failed = true;
            }
        }
    };
    size_t threads = std::min<size_t>(count, std::max(1, options_.max_concurrent));
    std::vector<std::thread> pool;
    for (size_t t = 1; t < threads; ++t)
        pool.emplace_back(worker);
    worker();
    for (auto& t : pool)
        t.join();
    if (failure) std::rethrow_exception(failure);
}

PullResult Puller::run(const std::optional<oci::Descriptor>& head, const std::string& name) {
    image::ContentStore& store = images_.store();
    std::string what = ref_.str();
    std::optional<Digest> expected = ref_.digest;
    if (!expected && head) expected = head->digest;
    FetchedManifest fetched = registry_.get_manifest(
        ref_.repository, expected ? expected->str() : ref_.manifest_reference(), expected);
    std::optional<Digest> index_digest;
    if (oci::detect_manifest_kind(fetched.bytes, fetched.media_type, what) ==
        oci::ManifestKind::index) {
        oci::Index index = oci::parse_index(fetched.bytes, what);
        auto chosen = image::select_manifest(index.manifests, options_.platform);
        if (!chosen) {
            std::string available;
            for (const auto& m : index.manifests)
                if (m.platform)
                    available += (available.empty() ? "" : ", ") + image::to_string(*m.platform);
            throw Error(what + ": no image for platform " + image::to_string(options_.platform) +
                        " (the index has: " + (available.empty() ? "none" : available) + ")");
        }
        index_digest = fetched.digest;
        FetchedManifest index_fetched = std::move(fetched);
        const oci::Descriptor& d = index.manifests[*chosen];
        fetched = registry_.get_manifest(ref_.repository, d.digest.str(), d.digest);
        if (oci::detect_manifest_kind(fetched.bytes, fetched.media_type, what) !=
            oci::ManifestKind::manifest)
            throw Error(what + ": manifest " + d.digest.str() + " is an index inside an index");
        // Admitted before anything is stored: a refused image leaves nothing behind.
        if (options_.admit) options_.admit(index_fetched.digest, fetched.digest);
        store.put(index_fetched.bytes, index_fetched.digest);
        added_.blob(index_fetched.digest);
    } else if (options_.admit) {
        options_.admit(fetched.digest, std::nullopt);
    }
    std::string manifest_what = "manifest " + fetched.digest.str() + " of " + what;
    image_.manifest = oci::parse_manifest(fetched.bytes, manifest_what);
    const oci::Descriptor& config = image_.manifest.config;
    if (!oci::is_config_media_type(config.media_type))
        throw Error(manifest_what + ": config media type " + config.media_type +
                    " is not an image config (an artifact, not an image)");
    for (const auto& layer : image_.manifest.layers)
        image::check_layer_media_type(layer);
    status("Resolved " + what + " to " + fetched.digest.str());

    if (!store.has(config.digest)) {
        store.put(registry_.fetch_small_blob(ref_.repository, config), config.digest);
        added_.blob(config.digest);
    }
    image_.config_bytes = store.read(config.digest);
    image_.config = oci::parse_image_config(image_.config_bytes, "config " + config.digest.str());
    if (image_.config.diff_ids.size() != image_.manifest.layers.size())
        throw Error(manifest_what + ": " + std::to_string(image_.manifest.layers.size()) +
                    " layers, but its config lists " +
                    std::to_string(image_.config.diff_ids.size()) + " diff IDs");
    image_.chain = image::chain_ids(image_.config.diff_ids);

    pull_layers();
    images_.snapshots().publish(prepared_);

    if (!store.has(fetched.digest)) {
        store.put(fetched.bytes, fetched.digest);
        added_.blob(fetched.digest);
    }
    PullResult result;
    result.name = name;
    result.record = images_.commit(fetched.digest, index_digest, {result.name});
    for (const auto& layer : image_.manifest.layers)
        images_.db().add_blob_source(layer.digest, registry_.name(), ref_.repository);
    images_.db().add_blob_source(config.digest, registry_.name(), ref_.repository);
    return result;
}

}  // namespace

std::optional<image::ImageRecord> find_complete(image::Images& images, const Digest& digest,
                                                const oci::Platform& platform) {
    if (auto record = images.db().get(digest)) {
        if (complete(images, *record)) return record;
        return std::nullopt;
    }
    for (auto& record : images.db().by_index(digest))
        if (platform_of_config_matches(images, record, platform) && complete(images, record))
            return record;
    return std::nullopt;
}

PullResult pull_image(image::Images& images, Registry& registry, const image::Reference& ref,
                      const PullOptions& options) {
    std::string name = !ref.tag.empty() || !ref.digest ? ref.name() + ":" + ref.tag_or_latest()
                                                       : ref.name() + "@" + ref.digest->str();
    // By digest: nothing to ask the registry when we have it.
    std::optional<oci::Descriptor> head;
    auto admit_present = [&](const Digest& resolved, const image::ImageRecord& record) {
        if (options.admit)
            options.admit(resolved,
                          record.id == resolved ? std::nullopt : std::optional<Digest>(record.id));
    };
    if (ref.digest) {
        if (auto record = find_complete(images, *ref.digest, options.platform)) {
            admit_present(*ref.digest, *record);
            images.db().add_name(name, record->id);
            return {*images.db().get(record->id), name, true};
        }
    } else {
        head = registry.head_manifest(ref.repository, ref.tag_or_latest());
        if (head) {
            if (auto record = find_complete(images, head->digest, options.platform)) {
                admit_present(head->digest, *record);
                images.db().add_name(name, record->id);
                return {*images.db().get(record->id), name, true};
            }
        }
    }
    image::FileLock writing = images.writer_lock();
    Puller puller(images, registry, ref, options);
    try {
        return puller.run(head, name);
    } catch (...) {
        puller.discard();
        throw;
    }
}

}  // namespace berth::distribution
