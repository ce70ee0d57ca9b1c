// Checks of a config.json that need the runtime's knowledge of this host (beyond the
// schema checks of oci::parse_spec): all of them run before anything is created.
#pragma once

#include <cstddef>

#include "oci/runtime_spec.hpp"

namespace berth::runtime {

// The largest config.json (or --process, --resources document) the runtime reads: runc and
// crun read it whole too, and one of hundreds of megabytes would take many seconds to refuse.
inline constexpr size_t kMaxConfigSize = size_t{64} << 20;

// Throws berth::Error whose message starts with the offending field.
void validate_for_create(const oci::Spec& spec, bool rootless);

// linux.sysctl: only namespaced keys, and only with the matching namespace.
void validate_sysctls(const oci::Spec& spec);

}  // namespace berth::runtime
