// Checks of a config.json that need the runtime's knowledge of this host (beyond the
// schema checks of oci::parse_spec): all of them run before anything is created.
#pragma once

#include "oci/runtime_spec.hpp"

namespace berth::runtime {

// Throws berth::Error whose message starts with the offending field.
void validate_for_create(const oci::Spec& spec, bool rootless);

// linux.sysctl: only namespaced keys, and only with the matching namespace.
void validate_sysctls(const oci::Spec& spec);

}  // namespace berth::runtime
