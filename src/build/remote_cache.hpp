// --cache-from and --cache-to: the build cache shared through an OCI registry (type=registry,
// ref=R) or a directory (type=local, an OCI layout), as an OCI artifact whose config lists the
// entries (key -> layer) and whose layers are the layer blobs. Importing records the entries
// in the local cache; a hit on an imported entry fetches its blob then. Exporting sends the
// blobs the destination lacks, and the artifact. Internal to src/build.
#pragma once

#include "build/session.hpp"

namespace berth::build {

void import_remote_cache(Session& session);
void export_remote_cache(Session& session, const StageResult& target);

}  // namespace berth::build
