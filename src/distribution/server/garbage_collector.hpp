// `berth registry gc`: marks every manifest reachable from a tag (through indexes and
// referrers) and every blob those manifests name, then sweeps the blobs nothing marks and,
// when asked, the untagged manifests. It holds <root>/gc.lock exclusively; the server takes
// it shared around every write that makes content referenced (manifest PUT, upload finish,
// mount, cache fill), so a mark never races a push. Blobs younger than the grace period
// are kept: an upload that finished but whose manifest has not come yet is never swept.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "distribution/server/storage.hpp"

namespace berth::registry {

struct GcOptions {
    bool dry_run = false;
    bool delete_untagged = false;
    std::chrono::seconds grace{3600};
};

struct GcReport {
    size_t manifests_kept = 0;
    size_t blobs_kept = 0;
    std::vector<std::string> manifests_removed;  // "repo@digest"
    std::vector<std::string> blobs_removed;      // digests
    uint64_t bytes_freed = 0;
};

GcReport collect_garbage(Storage& storage, const GcOptions& options);

}  // namespace berth::registry
