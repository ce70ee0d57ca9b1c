// `berth build` and `berth builder prune` on the command line: flags in, progress and results
// out; the work is build::build() (src/build/build.hpp).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace berth::cli {

// Adds the verbs to app; the returned function runs the one parsed and returns its exit
// code, or -1 when the command line named neither. root, config and authfile are read when
// the verb runs.
std::function<int()> add_build_commands(CLI::App& app, const std::string& root,
                                        const std::string& config, const std::string& authfile,
                                        const std::string& signature_policy,
                                        const std::string& requested);

}  // namespace berth::cli
