#include "cli/requested_verb.hpp"

namespace berth::cli {

std::string requested_verb(int argc, char** argv, const std::set<std::string_view>& with_value) {
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg.empty() || arg[0] != '-') return std::string(arg);
        if (with_value.count(arg)) ++i;
    }
    return {};
}

}  // namespace berth::cli
