#include "engine/container/names.hpp"

#include <sys/random.h>

#include "common/error.hpp"

namespace berth::engine {

std::string random_hex(size_t bytes) {
    std::string raw(bytes, '\0');
    size_t done = 0;
    while (done < bytes) {
        ssize_t n = ::getrandom(raw.data() + done, bytes - done, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("getrandom");
        }
        done += static_cast<size_t>(n);
    }
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes * 2);
    for (unsigned char c : raw) {
        out.push_back(kDigits[c >> 4]);
        out.push_back(kDigits[c & 15]);
    }
    return out;
}

std::string generated_name(const std::string& id) {
    return "berth_" + id.substr(0, 12);
}

}  // namespace berth::engine
