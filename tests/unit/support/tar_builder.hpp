// Builds tar streams in memory for the layer and archive tests (libarchive's writer), plain,
// gzip or zstd.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace berth::test {

struct TarEntry {
    std::string name;
    char type = 'f';   // f file, d dir, l symlink, h hardlink, c char dev, b block dev, p fifo
    std::string data;  // file content; link target for l and h
    mode_t mode = 0644;
    int64_t uid = 0, gid = 0;
    int64_t mtime = 1700000000;
    unsigned dev_major = 0, dev_minor = 0;
    std::map<std::string, std::string> xattrs;
};

enum class TarCompression { none, gzip, zstd };

std::string make_tar(const std::vector<TarEntry>& entries,
                     TarCompression compression = TarCompression::none);

// Shorthands.
TarEntry tar_file(const std::string& name, const std::string& data, mode_t mode = 0644);
TarEntry tar_dir(const std::string& name, mode_t mode = 0755);
TarEntry tar_symlink(const std::string& name, const std::string& target);
TarEntry tar_hardlink(const std::string& name, const std::string& target);

}  // namespace berth::test
