#include "image/gc.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <set>

#include "common/log.hpp"
#include "oci/image_index.hpp"

namespace berth::image {
namespace {

struct Marks {
    std::set<Digest> blobs;
    std::set<Digest> snapshots;
};

Marks mark(Images& images) {
    Marks m;
    LeasedContent leased = images.db().leased();
    m.blobs.insert(leased.blobs.begin(), leased.blobs.end());
    m.snapshots.insert(leased.snapshots.begin(), leased.snapshots.end());
    for (const auto& record : images.db().list()) {
        m.blobs.insert(record.id);
        m.blobs.insert(record.config);
        if (record.index_digest) m.blobs.insert(*record.index_digest);
        try {
            Image image = images.load(record);
            for (const auto& layer : image.manifest.layers)
                m.blobs.insert(layer.digest);
            for (const auto& chain : image.chain)
                m.snapshots.insert(chain);
        } catch (const std::exception& e) {
            // A broken image keeps what it still has; prune does not make it worse.
            log::warn("gc: image " + record.id.str() + ": " + e.what());
            if (auto bytes = images.store().has(record.id)
                                 ? std::optional(images.store().read(record.id))
                                 : std::nullopt) {
                try {
                    auto manifest = oci::parse_manifest(*bytes, record.id.str());
                    for (const auto& layer : manifest.layers)
                        m.blobs.insert(layer.digest);
                } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch)
                }
            }
        }
    }
    return m;
}

// Temp blobs without O_TMPFILE and lock files nobody holds.
void remove_leftovers(const std::string& root) {
    for (const std::string& dir : {root + "/blobs/ingest", root + "/locks"}) {
        DIR* d = ::opendir(dir.c_str());
        if (!d) continue;
        std::vector<std::string> names;
        while (dirent* e = ::readdir(d)) {
            std::string name = e->d_name;
            if (name != "." && name != ".." && name != "gc") names.push_back(name);
        }
        ::closedir(d);
        for (const auto& name : names) {
            std::string path = std::string(dir).append("/").append(name);
            int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
            if (fd < 0) continue;
            UniqueFd held(fd);
            if (::flock(fd, LOCK_EX | LOCK_NB) == 0) ::unlink(path.c_str());
        }
    }
}

}  // namespace

GcResult collect_garbage(Images& images) {
    FileLock exclusive = images.gc_lock();
    GcResult result;
    Marks marks = mark(images);
    for (const auto& chain : images.snapshots().list()) {
        if (marks.snapshots.contains(chain)) continue;
        images.snapshots().remove(chain);
        result.snapshots_removed.push_back(chain);
    }
    images.snapshots().remove_stale_temp();
    for (const auto& blob : images.store().list()) {
        if (marks.blobs.contains(blob)) continue;
        result.bytes_freed += images.store().size(blob).value_or(0);
        images.store().remove(blob);
        images.db().forget_layer(blob);
        result.blobs_removed.push_back(blob);
    }
    remove_leftovers(images.root());
    return result;
}

void discard_unreferenced_blobs(Images& images, const std::vector<Digest>& blobs) {
    if (blobs.empty()) return;
    Marks marks = mark(images);
    for (const auto& blob : blobs) {
        if (marks.blobs.contains(blob)) continue;
        try {
            images.store().remove(blob);
            images.db().forget_layer(blob);
        } catch (const std::exception& e) {
            log::warn("remove blob " + blob.str() + ": " + e.what());
        }
    }
}

void discard_unreferenced_snapshots(Images& images, const std::vector<Digest>& chains) {
    if (chains.empty()) return;
    Marks marks = mark(images);
    for (const auto& chain : chains) {
        if (marks.snapshots.contains(chain)) continue;
        try {
            images.snapshots().remove(chain);
        } catch (const std::exception& e) {
            log::warn("remove snapshot " + chain.str() + ": " + e.what());
        }
    }
}

DiskUsage disk_usage(Images& images) {
    DiskUsage usage;
    Marks marks = mark(images);
    for (const auto& blob : images.store().list()) {
        int64_t size = images.store().size(blob).value_or(0);
        usage.blobs.count++;
        usage.blobs.size += size;
        if (!marks.blobs.contains(blob)) usage.blobs.reclaimable += size;
    }
    for (const auto& record : images.db().list()) {
        usage.images.count++;
        if (record.names.empty()) usage.dangling_images++;
    }
    usage.images.size = usage.blobs.size - usage.blobs.reclaimable;
    for (const auto& chain : images.snapshots().list()) {
        auto info = images.snapshots().info(chain);
        int64_t size = info ? info->size : 0;
        usage.snapshots.count++;
        usage.snapshots.size += size;
        if (!marks.snapshots.contains(chain)) usage.snapshots.reclaimable += size;
    }
    return usage;
}

PruneResult prune_images(Images& images, bool all) {
    PruneResult result;
    for (const auto& record : images.db().list()) {
        if (!all && !record.names.empty()) continue;
        images.db().remove_image(record.id);
        result.images_removed.push_back(record.id);
    }
    result.gc = collect_garbage(images);
    return result;
}

RemoveResult remove_image(Images& images, const std::string& text, const Settings& settings,
                          bool force) {
    RemoveResult result;
    ImageRecord record = images.find(text, settings);
    // By name: untag. By id: the whole image (with -f when it has several names, as docker).
    bool by_name = false;
    for (const auto& candidate : settings.candidates(text)) {
        Reference ref = candidate;
        if (ref.tag.empty() && !ref.digest) ref.tag = "latest";
        if (images.db().remove_name(ref.str())) {
            result.untagged.push_back(ref.str());
            by_name = true;
            break;
        }
    }
    if (!by_name) {
        if (record.names.size() > 1 && !force)
            throw Error("image " + record.id.str() + " has " + std::to_string(record.names.size()) +
                        " names: remove them by name, or use --force");
        for (const auto& name : record.names) {
            images.db().remove_name(name);
            result.untagged.push_back(name);
        }
    }
    auto left = images.db().get(record.id);
    if (left && left->names.empty()) {
        images.db().remove_image(record.id);
        result.deleted.push_back(record.id);
    }
    result.gc = collect_garbage(images);
    return result;
}

}  // namespace berth::image
