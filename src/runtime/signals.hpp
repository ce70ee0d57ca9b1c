// Signal names as `kill` accepts them: "KILL", "SIGKILL", "9".
#pragma once

#include <string>

namespace berth::runtime {

// Throws "unknown signal \"X\"" for anything else.
int parse_signal(const std::string& text);

}  // namespace berth::runtime
