#include "distribution/server/garbage_collector.hpp"

#include <sys/stat.h>

#include <set>

#include "common/log.hpp"
#include "oci/image_index.hpp"
#include "oci/image_manifest.hpp"
#include "oci/media_types.hpp"

namespace berth::registry {
namespace {

// Digests a manifest names: its blobs, or an index's manifests (children), and its subject.
struct References {
    std::vector<Digest> blobs;
    std::vector<Digest> children;
};

References references_of(const StoredManifest& manifest) {
    References refs;
    try {
        if (oci::is_index_media_type(manifest.media_type)) {
            for (const auto& entry : oci::parse_index(manifest.bytes, "manifest").manifests)
                refs.children.push_back(entry.digest);
        } else {
            const auto parsed = oci::parse_manifest(manifest.bytes, "manifest");
            refs.blobs.push_back(parsed.config.digest);
            for (const auto& layer : parsed.layers)
                refs.blobs.push_back(layer.digest);
        }
    } catch (const std::exception& e) {
        log::warn("gc: " + manifest.digest.str() + ": " + e.what());
    }
    return refs;
}

}  // namespace

GcReport collect_garbage(Storage& storage, const GcOptions& options) {
    image::FileLock lock(storage.root() + "/gc.lock");
    GcReport report;
    std::set<Digest> marked;

    for (const auto& repo : storage.repositories()) {
        std::set<Digest> keep;
        std::vector<Digest> pending;
        if (options.delete_untagged) {
            for (const auto& tag : storage.tags(repo))
                if (auto digest = storage.resolve_tag(repo, tag)) pending.push_back(*digest);
        } else {
            pending = storage.manifests(repo);
        }
        while (!pending.empty()) {
            const Digest digest = pending.back();
            pending.pop_back();
            if (!keep.insert(digest).second) continue;
            auto manifest = storage.read_manifest(repo, digest);
            if (!manifest) continue;
            marked.insert(digest);
            const References refs = references_of(*manifest);
            marked.insert(refs.blobs.begin(), refs.blobs.end());
            pending.insert(pending.end(), refs.children.begin(), refs.children.end());
            for (const auto& referrer : storage.referrers(repo, digest))
                pending.push_back(referrer.digest);
        }
        for (const auto& digest : storage.manifests(repo)) {
            if (keep.count(digest)) continue;
            report.manifests_removed.push_back(repo + "@" + digest.str());
            if (!options.dry_run) storage.delete_manifest(repo, digest);
        }
        report.manifests_kept += keep.size();
    }

    const auto now = std::chrono::system_clock::now();
    for (const auto& digest : storage.blobs().list()) {
        if (marked.count(digest)) {
            ++report.blobs_kept;
            continue;
        }
        struct stat st {};
        if (::stat(storage.blobs().path(digest).c_str(), &st) < 0) continue;
        const auto modified =
            std::chrono::system_clock::time_point(std::chrono::seconds(st.st_mtim.tv_sec));
        if (now - modified < options.grace) {
            ++report.blobs_kept;
            continue;
        }
        report.blobs_removed.push_back(digest.str());
        report.bytes_freed += static_cast<uint64_t>(st.st_size);
        if (!options.dry_run) storage.blobs().remove(digest);
    }
    if (!options.dry_run) {
        // Links to blobs that are gone would only answer 404 later; drop them now.
        for (const auto& repo : storage.repositories())
            for (const auto& digest : storage.linked_blobs(repo))
                if (!storage.blobs().has(digest)) storage.unlink_blob(repo, digest);
    }
    return report;
}

}  // namespace berth::registry
