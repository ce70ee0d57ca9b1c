// The trust verbs on the berth command line: `key generate`, `sign`, `verify`, `sbom`, and
// inspect's --provenance. The work is in src/trust.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace berth::cli {

struct TrustGlobals {
    const std::string& root;
    const std::string& config;
    const std::string& authfile;
    const std::string& signature_policy;
};

// Adds the verbs (only the requested one when requested is not empty). The returned function
// runs the verb that was parsed and returns its exit code, or -1 when none of these was.
std::function<int()> add_trust_commands(CLI::App& app, const TrustGlobals& globals,
                                        const std::string& requested);

// `berth inspect --provenance [--key PUB] IMAGE`: the SLSA provenance statements attached to
// IMAGE in its registry, as a JSON array; with a key only DSSE envelopes it signed count.
// Throws naming the image and why when there is none.
int inspect_provenance(const TrustGlobals& globals, const std::string& image,
                       const std::string& key_path);

}  // namespace berth::cli
