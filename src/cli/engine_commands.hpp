// The engine's verbs on the berth command line (run, ps, logs, network, volume, ...).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace berth::cli {

// Adds the verbs to app (and `prune` to its existing `system`). root and config are read
// when a verb runs; signature_policy (--signature-policy) applies to the pulls of run/create. The
// returned function runs the verb that was parsed and returns its exit code, or -1 when the command
// line named none of these verbs. requested: the verb on the command line (requested_verb); the ~40
// options of `run` and of `create` are registered only for that verb, or for both when it is empty
// (help).
std::function<int()> add_engine_commands(CLI::App& app, const std::string& root,
                                         const std::string& config, const std::string& authfile,
                                         const std::string& signature_policy,
                                         const std::string& requested);

}  // namespace berth::cli
