// Where save writes an image layout or archive: a directory, or a tar stream (a file or
// stdout). Files appear complete: a directory is written under a temp name and renamed, a
// tar file likewise; only a tar to a pipe is written as it goes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "image/byte_source.hpp"

namespace berth::image {

class ArchiveSink {
  public:
    virtual ~ArchiveSink() = default;
    virtual void add_directory(const std::string& name) = 0;
    // A file of exactly size bytes read from data.
    virtual void add_file(const std::string& name, int64_t size, ByteSource& data) = 0;
    void add_bytes(const std::string& name, std::string_view bytes);
    // Makes the result visible (rename into place, end of the tar).
    virtual void finish() = 0;
};

// DIR must not exist, or be an empty directory.
std::unique_ptr<ArchiveSink> directory_sink(const std::string& dir);
// A tar written to path ("-" for stdout).
std::unique_ptr<ArchiveSink> tar_sink(const std::string& path);

}  // namespace berth::image
