// What a build leaves: the target stage as an image config (history, diff IDs, labels from
// --label) and an OCI or Docker schema2 manifest in the content store, then each --output:
// type=image (recorded under the -t names; push=true also pushes them), docker (a
// docker-archive tar), oci (an OCI layout tar, or directory with tar=false), local (the root
// filesystem in a directory), tar (the root filesystem as a tarball). Internal to src/build.
#pragma once

#include "build/session.hpp"

namespace berth::build {

BuildResult write_outputs(Session& session, const StageResult& target);

}  // namespace berth::build
