// /etc/subuid and /etc/subgid for the rootless tests, which make throwaway users with
// subordinate id ranges of their own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace berth::test {

struct SubordinateRange {
    std::string owner;
    uint64_t start = 0;
    uint64_t count = 0;
};

// The ranges in path (owner:start:count lines; others skipped).
std::vector<SubordinateRange> read_ranges(const char* path);

bool overlaps(uint64_t start, uint64_t count, const std::vector<SubordinateRange>& ranges);

// Drops name's lines from /etc/subuid or /etc/subgid (userdel normally has done it).
void remove_ranges_of(const std::string& name, const char* path);

}  // namespace berth::test
