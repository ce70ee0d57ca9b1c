#include "image/images.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

#include "common/time.hpp"
#include "image/layer_unpack.hpp"
#include "oci/media_types.hpp"

namespace berth::image {
namespace {

std::string make_root(std::string root) {
    if (::mkdir(root.c_str(), 0700) < 0 && errno != EEXIST) throw_errno("mkdir", root);
    return root;
}

bool is_hex(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    });
}

}  // namespace

std::string Image::display_name() const {
    return record.names.empty() ? record.id.str() : record.names.front();
}

void check_layer_media_type(const oci::Descriptor& layer) {
    if (!oci::layer_compression(layer.media_type))
        throw Error("layer " + layer.digest.str() + ": unsupported media type " + layer.media_type);
}

Images::Images(std::string root)
    : root_(make_root(std::move(root))),
      store_(root_),
      snapshots_(root_),
      db_(root_ + "/state.db") {}

FileLock Images::writer_lock() const {
    FileLock lock(root_ + "/locks/gc", true);
    // A writer killed midway (a pull, a load) left temporaries nobody holds any more: each
    // writer removes them as it starts, so a kill costs no disk after the next command.
    snapshots_.remove_orphaned_temps();
    store_.remove_orphaned_ingest();
    return lock;
}

FileLock Images::gc_lock() const {
    return FileLock(root_ + "/locks/gc", false);
}

std::optional<ImageRecord> Images::try_find(std::string_view text, const Settings& settings) {
    // An id: "sha256:<hex>", or a hex prefix (docker's short ids).
    if (auto digest = Digest::try_parse(text)) {
        if (auto r = db_.get(*digest)) return r;
        auto matches = db_.by_prefix(digest->hex());
        if (matches.size() == 1) return matches.front();
        return std::nullopt;
    }
    if (is_hex(text) && text.size() >= 4) {
        auto matches = db_.by_prefix(std::string(text));
        if (matches.size() > 1)
            throw Error("image id prefix " + std::string(text) + " is ambiguous (" +
                        std::to_string(matches.size()) + " images)");
        if (matches.size() == 1) return matches.front();
    }
    for (const auto& candidate : settings.candidates(text)) {
        Reference ref = candidate;
        if (ref.tag.empty() && !ref.digest) ref.tag = "latest";
        if (auto r = db_.by_name(ref.str())) return r;
        if (ref.digest) {
            // name@digest: any image with that manifest (or index) digest under that name.
            if (auto r = db_.get(*ref.digest)) return r;
            for (auto& r : db_.list())
                if (r.index_digest == ref.digest) return r;
        }
    }
    return std::nullopt;
}

ImageRecord Images::find(std::string_view text, const Settings& settings) {
    if (auto r = try_find(text, settings)) return *r;
    throw ImageNotFound("image " + std::string(text) + ": not found in " + root_);
}

Image Images::read_manifest(const Digest& manifest) {
    Image image;
    std::string what = "manifest " + manifest.str();
    if (!store_.has(manifest)) throw Error(what + ": not in the store");
    image.manifest_bytes = store_.read(manifest);
    image.manifest = oci::parse_manifest(image.manifest_bytes, what);
    const oci::Descriptor& config = image.manifest.config;
    if (!oci::is_config_media_type(config.media_type))
        throw Error(what + ": config " + config.digest.str() + " has media type " +
                    config.media_type + ", not an image config (an artifact, not an image)");
    if (!store_.has(config.digest))
        throw Error(what + ": config " + config.digest.str() + " is missing");
    image.config_bytes = store_.read(config.digest);
    image.config = oci::parse_image_config(image.config_bytes, "config " + config.digest.str());
    if (image.config.diff_ids.size() != image.manifest.layers.size())
        throw Error(what + ": " + std::to_string(image.manifest.layers.size()) +
                    " layers, but its config lists " +
                    std::to_string(image.config.diff_ids.size()) + " diff IDs");
    for (const auto& layer : image.manifest.layers) {
        check_layer_media_type(layer);
        if (!store_.has(layer.digest))
            throw Error(what + ": layer " + layer.digest.str() + " is missing");
    }
    image.chain = chain_ids(image.config.diff_ids);
    image.record.id = manifest;
    image.record.config = config.digest;
    image.record.media_type = image.manifest.media_type.empty()
                                  ? std::string(oci::media_type::kOciManifest)
                                  : image.manifest.media_type;
    image.record.size = static_cast<int64_t>(image.manifest_bytes.size()) + config.size;
    for (const auto& layer : image.manifest.layers)
        image.record.size += layer.size;
    return image;
}

Image Images::load(const ImageRecord& record) {
    Image image = read_manifest(record.id);
    image.record = record;
    return image;
}

void Images::ensure_snapshot(const Image& image, size_t i) {
    std::vector<PreparedSnapshot> one;
    if (auto p = prepare_snapshot(image, i)) one.push_back(std::move(*p));
    snapshots_.publish(one);
}

std::optional<PreparedSnapshot> Images::prepare_snapshot(const Image& image, size_t i) {
    const oci::Descriptor& layer = image.manifest.layers.at(i);
    const Digest& chain = image.chain.at(i);
    if (snapshots_.has(chain)) return std::nullopt;
    std::string what = "layer " + layer.digest.str();
    return snapshots_.prepare(chain, [&](int fs_fd) {
        UniqueFd blob = store_.open(layer.digest);
        FdSource source(blob.get(), store_.path(layer.digest));
        UnpackResult r =
            unpack_layer(source, fs_fd, WhiteoutMode::overlay, image.config.diff_ids.at(i), what);
        db_.put_layer({layer.digest, r.diff_id, r.size});
        SnapshotInfo info;
        info.chain_id = chain;
        if (i > 0) info.parent = image.chain.at(i - 1);
        info.diff_id = r.diff_id;
        info.blob = layer.digest;
        info.size = r.size;
        info.entries = static_cast<int64_t>(r.stats.entries);
        return info;
    });
}

ImageRecord Images::commit(const Digest& manifest, const std::optional<Digest>& index,
                           const std::vector<std::string>& names, const UnpackProgress& progress) {
    Image image = read_manifest(manifest);
    // Layers unpack in parallel: each snapshot holds one layer alone.
    size_t count = image.manifest.layers.size();
    std::atomic<size_t> next{0};
    std::mutex failure_mutex;
    std::exception_ptr failure;
    std::vector<PreparedSnapshot> prepared;
    auto worker = [&] {
        for (size_t i; (i = next.fetch_add(1)) < count;) {
            {
                std::lock_guard lock(failure_mutex);
                if (failure) return;
            }
            try {
                if (progress) progress(i, false);
                if (auto p = prepare_snapshot(image, i)) {
                    std::lock_guard lock(failure_mutex);
                    prepared.push_back(std::move(*p));
                }
                if (progress) progress(i, true);
            } catch (...) {
                std::lock_guard lock(failure_mutex);
                if (!failure) failure = std::current_exception();
            }
        }
    };
    size_t threads = std::min<size_t>(count, std::max(1u, std::thread::hardware_concurrency()));
    std::vector<std::thread> pool;
    for (size_t t = 1; t < threads; ++t)
        pool.emplace_back(worker);
    worker();
    for (auto& t : pool)
        t.join();
    if (failure) std::rethrow_exception(failure);
    snapshots_.publish(prepared);

    image.record.index_digest = index;
    image.record.created = rfc3339_now();
    if (auto existing = db_.get(manifest)) image.record.created = existing->created;
    db_.put(image.record, names);
    return *db_.get(manifest);
}

void Images::unpack_flat(const Image& image, int dir_fd) {
    for (size_t i = 0; i < image.manifest.layers.size(); ++i) {
        const oci::Descriptor& layer = image.manifest.layers[i];
        UniqueFd blob = store_.open(layer.digest);
        FdSource source(blob.get(), store_.path(layer.digest));
        unpack_layer(source, dir_fd, WhiteoutMode::remove, image.config.diff_ids.at(i),
                     "layer " + layer.digest.str());
    }
}

}  // namespace berth::image
