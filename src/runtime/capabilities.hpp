// Process capabilities (all five sets) through libcap.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "oci/runtime_spec.hpp"

namespace berth::runtime {

struct CapabilitySets {
    uint64_t bounding = 0, effective = 0, inheritable = 0, permitted = 0, ambient = 0;
};

// Names -> bit sets. An unknown name is an error naming the field; a name the running
// kernel does not know (newer than it) is skipped with a warning, as runc does.
CapabilitySets resolve_capabilities(const oci::Capabilities& caps, const std::string& field);

// Highest capability number the running kernel knows.
int last_capability();

// Drops everything outside the bounding set (needs CAP_SETPCAP; do it before changing user).
void drop_bounding_set(const CapabilitySets& caps);
// Sets effective/permitted/inheritable, then raises the ambient set.
// Throws, naming them, if caps asks for capabilities this process does not hold.
void check_capabilities_held(const CapabilitySets& caps);
void apply_capabilities(const CapabilitySets& caps);

// Every capability name the kernel supports, "CAP_CHOWN" ... (for `features`).
std::vector<std::string> known_capability_names();

bool has_capability(const CapabilitySets& caps, int cap);

}  // namespace berth::runtime
