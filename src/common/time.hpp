// Timestamps as RFC 3339 in UTC ("2024-01-02T03:04:05.123456789Z").
#pragma once

#include <ctime>
#include <string>

namespace berth {

// Formats without strftime(3): glibc's strftime reads /etc/localtime on first use, a file
// open that every container start would pay for a UTC timestamp.
std::string format_rfc3339(const timespec& ts, bool trim_fraction = true);
std::string rfc3339_now(bool trim_fraction = true);

}  // namespace berth
