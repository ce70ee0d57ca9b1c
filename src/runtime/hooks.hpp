// OCI lifecycle hooks: each runs with the container's state JSON on stdin, its own args
// and env, and is killed when its timeout passes.
#pragma once

#include <string>
#include <vector>

#include "oci/runtime_spec.hpp"
#include "oci/runtime_state.hpp"

namespace berth::runtime {

// Runs the hooks in order; the first failure throws naming the phase, hook and reason
// (exit status or timeout, with what it wrote to stderr).
void run_hooks(const std::vector<oci::Hook>& hooks, const oci::State& state, const char* phase);

// For poststart and poststop, where a failure is only a warning.
void run_hooks_warn(const std::vector<oci::Hook>& hooks, const oci::State& state,
                    const char* phase);

}  // namespace berth::runtime
