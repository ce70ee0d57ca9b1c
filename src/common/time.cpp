#include "common/time.hpp"

#include <cstdio>

namespace berth {

std::string format_rfc3339(const timespec& ts, bool trim_fraction) {
    tm utc{};
    gmtime_r(&ts.tv_sec, &utc);
    char buf[64];
    int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", utc.tm_year + 1900,
                          utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
    std::string out(buf, static_cast<size_t>(n));
    if (ts.tv_nsec || !trim_fraction) {
        std::snprintf(buf, sizeof buf, ".%09ld", ts.tv_nsec);
        std::string fraction = buf;
        while (trim_fraction && fraction.back() == '0')
            fraction.pop_back();
        out += fraction;
    }
    return out + "Z";
}

std::string rfc3339_now(bool trim_fraction) {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return format_rfc3339(ts, trim_fraction);
}

}  // namespace berth
