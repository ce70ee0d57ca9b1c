#include "common/tree_size.hpp"

#include <ftw.h>
#include <sys/stat.h>

#include <set>
#include <utility>

namespace berth {
namespace {

// nftw has no user pointer: one walk at a time per thread.
thread_local int64_t g_total = 0;
thread_local std::set<std::pair<dev_t, ino_t>>* g_seen = nullptr;

int add_entry(const char*, const struct stat* st, int type, FTW*) {
    if (type == FTW_NS) return 0;
    // Hard links are counted once, as du does.
    if (st->st_nlink > 1 && !S_ISDIR(st->st_mode) &&
        !g_seen->insert({st->st_dev, st->st_ino}).second)
        return 0;
    g_total += static_cast<int64_t>(st->st_blocks) * 512;
    return 0;
}

}  // namespace

int64_t tree_disk_usage(const std::string& path) {
    std::set<std::pair<dev_t, ino_t>> seen;
    g_total = 0;
    g_seen = &seen;
    int rc = ::nftw(path.c_str(), add_entry, 32, FTW_PHYS | FTW_MOUNT);
    g_seen = nullptr;
    return rc == 0 ? g_total : 0;
}

}  // namespace berth
