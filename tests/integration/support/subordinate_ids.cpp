#include "support/subordinate_ids.hpp"

#include <algorithm>
#include <exception>
#include <fstream>

namespace berth::test {

std::vector<SubordinateRange> read_ranges(const char* path) {
    std::vector<SubordinateRange> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        auto a = line.find(':');
        auto b = line.find(':', a == std::string::npos ? a : a + 1);
        if (a == std::string::npos || b == std::string::npos) continue;
        try {
            out.push_back({line.substr(0, a), std::stoull(line.substr(a + 1, b - a - 1)),
                           std::stoull(line.substr(b + 1))});
        } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): not a range line
        }
    }
    return out;
}

bool overlaps(uint64_t start, uint64_t count, const std::vector<SubordinateRange>& ranges) {
    return std::any_of(ranges.begin(), ranges.end(), [&](const SubordinateRange& r) {
        return start < r.start + r.count && r.start < start + count;
    });
}

void remove_ranges_of(const std::string& name, const char* path) {
    std::ifstream in(path);
    std::string line, kept;
    bool found = false;
    while (std::getline(in, line)) {
        if (line.rfind(name + ":", 0) == 0) {
            found = true;
            continue;
        }
        kept += line + "\n";
    }
    in.close();
    if (found) std::ofstream(path, std::ios::trunc) << kept;
}

}  // namespace berth::test
