// The build context (what COPY and ADD read) and the Containerfile: a directory used in
// place, a tarball (stdin, a URL) unpacked into the build's scratch directory, or nothing (a
// Containerfile alone on stdin). The ignore file is the first of <Containerfile>.dockerignore,
// .containerignore and .dockerignore.
//
// Content digests of context files (for the cache keys of COPY and ADD) come from a stat
// cache keyed by (inode, size, mtime, ctime) per path, kept between builds under
// <root>/build/context/: an unchanged file is never read again, a touched one is re-read
// and, unchanged, hashes the same.
#pragma once

#include <sys/stat.h>

#include <mutex>
#include <string>
#include <unordered_map>

#include "build/build.hpp"
#include "build/dockerignore.hpp"
#include "build/file_copy.hpp"
#include "common/unique_fd.hpp"

namespace berth::build {

class ContentHasher {
  public:
    // cache_file: where the stat cache lives ("" for none, e.g. an unpacked tarball).
    explicit ContentHasher(std::string cache_file);
    // The sha256 of a regular file's content (dir_fd/name as SourceVisit gives them).
    Digest file_digest(int dir_fd, const std::string& name, const std::string& rel,
                       const struct stat& st);
    // Writes the cache back when it changed (entries not seen in this build are dropped).
    void save();

  private:
    struct Entry {
        uint64_t ino = 0;
        int64_t size = 0, mtime = 0, ctime = 0;
        std::string digest;  // hex
        bool seen = false;
    };
    std::string file_;
    std::mutex mutex_;
    std::unordered_map<std::string, Entry> entries_;
    bool changed_ = false;
};

class BuildContext {
  public:
    // scratch: the build's own directory (tarball contexts are unpacked below it);
    // state_dir: <root>/build (the stat caches).
    BuildContext(const BuildOptions& options, const std::string& scratch,
                 const std::string& state_dir, distribution::HttpClient* http);

    [[nodiscard]] const std::string& containerfile_text() const { return containerfile_text_; }
    [[nodiscard]] const std::string& containerfile_name() const { return containerfile_name_; }
    [[nodiscard]] bool has_files() const { return root_.valid(); }
    [[nodiscard]] SourceRoot source_root() const { return {root_.get(), true, &ignore_}; }
    [[nodiscard]] const IgnoreMatcher& ignore() const { return ignore_; }
    [[nodiscard]] const std::string& ignore_file() const { return ignore_file_; }
    ContentHasher& hasher() { return *hasher_; }

  private:
    void load_containerfile(const BuildOptions& options, const std::string& context_dir);
    void load_ignore(const std::string& context_dir);
    std::string containerfile_text_;
    std::string containerfile_name_ = "Containerfile";
    std::string containerfile_path_;  // on disk, when it was read from a file
    UniqueFd root_;
    IgnoreMatcher ignore_;
    std::string ignore_file_;
    std::unique_ptr<ContentHasher> hasher_;
};

}  // namespace berth::build
