// The verb on a command line, found before the parser is built: only that verb's options
// need to be registered, and building every option of every verb costs a measurable share
// of a container start (`berth run`, `berth-runtime run`).
#pragma once

#include <set>
#include <string>
#include <string_view>

namespace berth::cli {

// The first argument that is not a global option (skipping the values of the global
// options named in with_value); empty if there is none.
std::string requested_verb(int argc, char** argv, const std::set<std::string_view>& with_value);

}  // namespace berth::cli
