// An OCI linux.seccomp object as JSON (the runtime parses it back from config.json).
#pragma once

#include <nlohmann/json.hpp>

#include "oci/runtime_spec.hpp"

namespace berth::engine {

nlohmann::ordered_json seccomp_to_json(const oci::Seccomp& seccomp);

}  // namespace berth::engine
