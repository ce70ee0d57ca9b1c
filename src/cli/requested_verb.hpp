// The verb on a command line, found before the parser is built: only that verb's
// subcommand and options need to be built (berth builds no other verb's `CLI::App`;
// berth-runtime registers only its options), and building every verb costs a measurable
// share of a container start (`berth run`: ~1.2 ms here; `berth-runtime run`).
#pragma once

#include <set>
#include <string>
#include <string_view>

namespace berth::cli {

// The first argument that is not a global option (skipping the values of the global
// options named in with_value); empty if there is none.
std::string requested_verb(int argc, char** argv, const std::set<std::string_view>& with_value);

}  // namespace berth::cli
