#include "runtime/signals.hpp"

#include <signal.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "common/error.hpp"
#include "common/strings.hpp"

namespace berth::runtime {

int parse_signal(const std::string& text) {
    if (auto n = parse_uint64(text)) {
        if (*n == 0 || *n > static_cast<uint64_t>(SIGRTMAX))
            throw Error("unknown signal \"" + text + "\"");
        return static_cast<int>(*n);
    }
    std::string name = text;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::toupper(c); });
    if (name.rfind("SIG", 0) == 0) name.erase(0, 3);
    if (name.rfind("RTMIN", 0) == 0 || name.rfind("RTMAX", 0) == 0) {
        bool min = name[3] == 'I';
        std::string rest = name.substr(5);
        int offset = 0;
        if (!rest.empty()) {
            auto v = parse_int64(rest.substr(rest[0] == '+' ? 1 : 0));
            if (!v) throw Error("unknown signal \"" + text + "\"");
            offset = static_cast<int>(*v);
        }
        int sig = min ? SIGRTMIN + offset : SIGRTMAX + offset;
        if (sig < SIGRTMIN || sig > SIGRTMAX) throw Error("unknown signal \"" + text + "\"");
        return sig;
    }
    for (int sig = 1; sig < NSIG; ++sig) {
        const char* abbrev = sigabbrev_np(sig);
        if (abbrev && name == abbrev) return sig;
    }
    throw Error("unknown signal \"" + text + "\"");
}

}  // namespace berth::runtime
