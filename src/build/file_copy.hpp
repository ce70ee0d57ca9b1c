// COPY and ADD's file operations, with BuildKit's semantics (its fileop copy, after
// tonistiigi/fsutil): a source directory's contents are copied, not the directory; a
// destination ending in '/' or that is a directory receives a file under its own name;
// missing destination parents are made (0755, or the --chmod mode, owned by --chown); files,
// directories, symlinks, hard links within one copy, device nodes and fifos keep their
// modes, times and xattrs; owners are the source's (0:0 for the build context, whose files
// docker's client sends as root's) unless --chown. Every path is resolved through
// directory fds inside its root: the destination with openat2(RESOLVE_IN_ROOT), a context
// source with RESOLVE_BENEATH (a symlink or ".." leading out of the context is an error).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "build/dockerignore.hpp"

namespace berth::build {

struct Owner {
    uint32_t uid = 0;
    uint32_t gid = 0;
    friend bool operator==(const Owner&, const Owner&) = default;
};

// --chmod: an octal mode ("0755") or a symbolic one ("u+x,go-w", "a=rX").
class ModeChange {
  public:
    ModeChange() = default;
    static ModeChange parse(const std::string& text);  // throws Error naming text
    [[nodiscard]] bool empty() const { return text_.empty(); }
    [[nodiscard]] const std::string& text() const { return text_; }
    [[nodiscard]] std::optional<mode_t> octal() const { return octal_; }
    // The new permission bits (07777) of an entry with mode (S_IFMT included).
    [[nodiscard]] mode_t apply(mode_t mode) const;

  private:
    struct Clause {
        mode_t who = 0;  // bits the clause may touch
        char op = '=';
        mode_t bits = 0;
        bool conditional_x = false;  // X
    };
    std::string text_;
    std::optional<mode_t> octal_;
    std::vector<Clause> clauses_;
};

// Where sources come from and how to read them.
struct SourceRoot {
    int fd = -1;                            // the root directory (context, stage rootfs)
    bool context = false;                   // the build context: RESOLVE_BENEATH, owners 0:0
    const IgnoreMatcher* ignore = nullptr;  // context paths that do not exist for COPY
};

struct CopyOptions {
    std::optional<Owner> owner;         // --chown
    ModeChange mode;                    // --chmod
    std::vector<std::string> excludes;  // --exclude (relative to each copied source)
    bool unpack_archives = false;       // ADD: a local tar (any compression) is extracted
    std::string scratch;                // a directory for ADD's unpacking
};

// Go's filepath.Match on a slash-separated path ('*' and '?' stop at '/').
bool path_pattern_matches(std::string_view pattern, std::string_view path);

// The paths a COPY source names (wildcards resolved, in walk order), relative to the root
// ("" for the root itself). Throws Error for a path that leaves the root.
std::vector<std::string> resolve_sources(const SourceRoot& root, const std::string& source);

// Visits what copying source (resolved, relative) would take, parents first: rel is the
// path below source ("" for source itself), st its lstat (after following source itself
// when it is a symlink), dir_fd/name where to open it (name "": dir_fd is the entry).
struct SourceVisit {
    std::string rel;
    const struct stat* st = nullptr;
    int dir_fd = -1;
    std::string name;
    std::string link_target;
};
void walk_source(const SourceRoot& root, const std::string& source,
                 const std::vector<std::string>& excludes,
                 const std::function<void(const SourceVisit&)>& visit);

// Copies source (resolved, relative to root) to dest (absolute in the destination root;
// a trailing '/' makes it a directory) with COPY's rules.
void copy_source(const SourceRoot& root, const std::string& source, int dest_root_fd,
                 const std::string& dest, const CopyOptions& options);

// A file's bytes copied to dest as a file named name would be (inline heredoc files of
// COPY <<EOF, ADD's downloads): dest/name when dest ends in '/' or is a directory, else
// dest; mode (before --chmod), --chown's owner or root, mtime when given; parents made as
// for copy_source.
void write_file_entry(int dest_root_fd, const std::string& dest, const std::string& name,
                      const std::string& data, mode_t mode, const CopyOptions& options,
                      std::optional<int64_t> mtime);

// mkdir -p inside root (RESOLVE_IN_ROOT), new directories with mode and owner; returns
// whether path (a directory now) was created.
bool make_directories(int root_fd, const std::string& path, mode_t mode,
                      const std::optional<Owner>& owner);

}  // namespace berth::build
