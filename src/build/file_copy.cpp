#include "build/file_copy.hpp"

#include "build/archive.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <memory>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/path.hpp"
#include "common/remove_tree.hpp"
#include "common/strings.hpp"
#include "image/byte_source.hpp"
#include "image/layer_apply.hpp"
#include "image/layer_diff.hpp"

namespace berth::build {
namespace {

UniqueFd openat2_fd(int dirfd, const std::string& path, int flags, uint64_t resolve,
                    mode_t mode = 0) {
    open_how how{};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.mode = (flags & O_CREAT) ? mode : 0;
    how.resolve = resolve;
    for (;;) {
        long fd =
            ::syscall(SYS_openat2, dirfd, path.empty() ? "." : path.c_str(), &how, sizeof how);
        if (fd >= 0) return UniqueFd(static_cast<int>(fd));
        if (errno == EINTR || errno == EAGAIN) continue;
        throw_errno("open", path.empty() ? "." : path);
    }
}

uint64_t source_resolve(const SourceRoot& root) {
    return root.context ? (RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)
                        : (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

// A source path relative to its root; "../x" (which leaves it) is refused.
std::string relative_source(const std::string& source) {
    std::string cleaned = clean_path("/" + source);
    std::string lexical = clean_path(source.empty() ? "." : source);
    if (lexical == ".." || lexical.starts_with("../"))
        throw Error(source + ": forbidden path outside the build context");
    return cleaned == "/" ? "" : cleaned.substr(1);
}

UniqueFd open_source(const SourceRoot& root, const std::string& rel, bool follow) {
    try {
        return openat2_fd(root.fd, rel, O_PATH | (follow ? 0 : O_NOFOLLOW), source_resolve(root));
    } catch (const SystemError& e) {
        if (e.code() == EXDEV) throw Error(rel + ": a symlink leads outside the build context");
        if (e.code() == ENOENT) throw Error(rel + ": not found");
        throw;
    }
}

struct stat fd_stat(int fd, const std::string& what) {
    struct stat st {};
    if (::fstat(fd, &st) < 0) throw_errno("stat", what);
    return st;
}

std::string read_link(int dir_fd, const std::string& name) {
    std::string target(4096, '\0');
    ssize_t n = ::readlinkat(dir_fd, name.c_str(), target.data(), target.size());
    if (n < 0) throw_errno("readlink", name);
    target.resize(static_cast<size_t>(n));
    return target;
}

// Go's filepath.Match tokens.
bool match_from(std::string_view p, std::string_view s) {
    while (!p.empty()) {
        char c = p.front();
        if (c == '*') {
            while (!p.empty() && p.front() == '*')
                p.remove_prefix(1);
            for (size_t k = 0;; ++k) {
                if (match_from(p, s.substr(k))) return true;
                if (k >= s.size() || s[k] == '/') return false;
            }
        }
        if (s.empty()) return false;
        if (c == '?') {
            if (s.front() == '/') return false;
            p.remove_prefix(1);
        } else if (c == '[') {
            size_t i = 1;
            bool negated = i < p.size() && (p[i] == '^' || p[i] == '!');
            if (negated) ++i;
            bool in = false, first = true;
            while (i < p.size() && (p[i] != ']' || first)) {
                first = false;
                char lo = p[i];
                if (lo == '\\' && i + 1 < p.size()) lo = p[++i];
                char hi = lo;
                if (i + 2 < p.size() && p[i + 1] == '-' && p[i + 2] != ']') {
                    hi = p[i + 2];
                    if (hi == '\\' && i + 3 < p.size()) {
                        hi = p[i + 3];
                        ++i;
                    }
                    i += 2;
                }
                if (s.front() >= lo && s.front() <= hi) in = true;
                ++i;
            }
            if (i >= p.size()) return false;  // malformed: no match
            if (in == negated || s.front() == '/') return false;
            p.remove_prefix(i + 1);
        } else {
            if (c == '\\' && p.size() > 1) {
                p.remove_prefix(1);
                c = p.front();
            }
            if (s.front() != c) return false;
            p.remove_prefix(1);
        }
        s.remove_prefix(1);
    }
    return s.empty();
}

bool has_wildcards(std::string_view s) {
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\') {
            ++i;
            continue;
        }
        if (s[i] == '*' || s[i] == '?' || s[i] == '[') return true;
    }
    return false;
}

// Which entries a copy takes: not ignored (context paths), not --exclude'd (paths below the
// copied source).
class Selection {
  public:
    Selection(const SourceRoot& root, const std::string& source,
              const std::vector<std::string>& excludes)
        : root_(root), source_(source) {
        if (!excludes.empty()) excludes_ = IgnoreMatcher(excludes);
    }
    [[nodiscard]] bool included(const std::string& rel) const {
        if (rel.empty()) return true;
        if (root_.ignore && !root_.ignore->empty() &&
            root_.ignore->matches(source_.empty() ? rel : source_ + "/" + rel))
            return false;
        return excludes_.empty() || !excludes_.matches(rel);
    }
    // Excluded directories still hold entries that "!pattern" brings back.
    [[nodiscard]] bool descend_excluded() const {
        return (root_.ignore && root_.ignore->has_exclusions()) || excludes_.has_exclusions();
    }

  private:
    const SourceRoot& root_;
    std::string source_;
    IgnoreMatcher excludes_;
};

std::vector<std::string> sorted_names(int dir_fd, const std::string& what) {
    std::vector<std::string> names = list_directory(dir_fd, what);
    std::sort(names.begin(), names.end());
    return names;
}

void copy_xattrs(const std::string& from, const std::string& to, bool link) {
    ssize_t size =
        link ? ::llistxattr(from.c_str(), nullptr, 0) : ::listxattr(from.c_str(), nullptr, 0);
    if (size <= 0) return;
    std::string names(static_cast<size_t>(size), '\0');
    size = link ? ::llistxattr(from.c_str(), names.data(), names.size())
                : ::listxattr(from.c_str(), names.data(), names.size());
    if (size <= 0) return;
    names.resize(static_cast<size_t>(size));
    for (size_t at = 0; at < names.size();) {
        std::string name(names.c_str() + at);
        at += name.size() + 1;
        if (name.empty() || image::is_overlay_xattr(name) || name == "security.selinux") continue;
        std::string value(65536, '\0');
        ssize_t n = link ? ::lgetxattr(from.c_str(), name.c_str(), value.data(), value.size())
                         : ::getxattr(from.c_str(), name.c_str(), value.data(), value.size());
        if (n < 0) continue;
        // As BuildKit, an xattr the destination refuses is not an error.
        if (link)
            ::lsetxattr(to.c_str(), name.c_str(), value.data(), static_cast<size_t>(n), 0);
        else
            ::setxattr(to.c_str(), name.c_str(), value.data(), static_cast<size_t>(n), 0);
    }
}

void copy_bytes(int in, int out, const std::string& what) {
    bool fallback = false;
    char buffer[65536];
    for (;;) {
        if (!fallback) {
            ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, 1 << 30, 0);
            if (n > 0) continue;
            if (n == 0) return;
            if (errno == EINTR) continue;
            if (errno != EXDEV && errno != EINVAL && errno != EOPNOTSUPP && errno != ENOSYS &&
                errno != EPERM)
                throw_errno("copy", what);
            fallback = true;
        }
        ssize_t n = ::read(in, buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("read", what);
        }
        if (n == 0) return;
        write_all(out, std::string_view(buffer, static_cast<size_t>(n)), what);
    }
}

class Copier {
  public:
    Copier(const SourceRoot& root, const std::string& source, const CopyOptions& options)
        : root_(root), options_(options), selection_(root, source, options.excludes) {}

    struct Target {
        int dir_fd;        // the destination directory (O_PATH is enough)
        std::string name;  // the entry in it; "" for dir_fd itself (copying to "/")
    };

    void copy_entry(int src_fd, const struct stat& st, const std::string& rel, const Target& dst,
                    bool overwrite_metadata, struct Pending* parent);

  private:
    friend struct Pending;
    Owner owner_of(const struct stat& st) const {
        if (options_.owner) return *options_.owner;
        if (root_.context) return {};
        return {st.st_uid, st.st_gid};
    }
    mode_t mode_of(const struct stat& st) const {
        return options_.mode.empty() ? (st.st_mode & 07777) : options_.mode.apply(st.st_mode);
    }
    void apply_info(int src_fd, const struct stat& st, const Target& dst);
    void copy_directory(int src_fd, const struct stat& st, const std::string& rel,
                        const Target& dst, bool overwrite_metadata, bool included,
                        struct Pending* parent);

    const SourceRoot& root_;
    const CopyOptions& options_;
    Selection selection_;
    std::map<std::pair<dev_t, ino_t>, UniqueFd> links_;  // hard links: the first copy
};

// A directory whose creation waits for a child that is included (an excluded directory with
// re-included entries below it).
struct Pending {
    Copier* copier;
    int src_fd;
    const struct stat* st;
    Copier::Target target;
    Pending* parent;
    UniqueFd made;  // O_PATH of the created directory
    int ensure() {
        if (made) return made.get();
        int parent_fd = parent ? parent->ensure() : target.dir_fd;
        if (::mkdirat(parent_fd, target.name.c_str(), st->st_mode & 07777) < 0 && errno != EEXIST)
            throw_errno("mkdir", target.name);
        made.reset(::openat(parent_fd, target.name.c_str(),
                            O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!made) throw_errno("open", target.name);
        copier->apply_info(src_fd, *st, {parent_fd, target.name});
        return made.get();
    }
};

void Copier::apply_info(int src_fd, const struct stat& st, const Target& dst) {
    if (dst.name.empty()) return;  // the destination root keeps its own (COPY dir /)
    Owner owner = owner_of(st);
    int dir = dst.dir_fd;
    const char* name = dst.name.c_str();
    if (::fchownat(dir, name, owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW) < 0)
        throw_errno("chown", dst.name);
    std::string to = fd_path(dir) + "/" + dst.name;
    if (!S_ISLNK(st.st_mode)) {
        // After the chown, which clears set-id bits.
        if (::chmod(to.c_str(), mode_of(st)) < 0) throw_errno("chmod", dst.name);
    }
    copy_xattrs(fd_path(src_fd), to, S_ISLNK(st.st_mode));
    timespec times[2] = {st.st_atim, st.st_mtim};
    if (::utimensat(dir, name, times, AT_SYMLINK_NOFOLLOW) < 0 && errno != ENOENT)
        throw_errno("utimes", dst.name);
}

void Copier::copy_entry(int src_fd, const struct stat& st, const std::string& rel,
                        const Target& dst, bool overwrite_metadata, Pending* parent) {
    bool included = selection_.included(rel);
    if (S_ISDIR(st.st_mode)) {
        copy_directory(src_fd, st, rel, dst, overwrite_metadata, included, parent);
        return;
    }
    if (!included || S_ISSOCK(st.st_mode)) return;
    Target target = dst;
    if (parent) target.dir_fd = parent->ensure();
    struct stat existing {};
    if (::fstatat(target.dir_fd, target.name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISDIR(existing.st_mode))
            throw Error("cannot replace directory " + rel + " with a file");
        if (::unlinkat(target.dir_fd, target.name.c_str(), 0) < 0) throw_errno("remove", rel);
    }
    if (S_ISREG(st.st_mode)) {
        if (st.st_nlink > 1) {
            auto it = links_.find({st.st_dev, st.st_ino});
            if (it != links_.end()) {
                if (::linkat(AT_FDCWD, fd_path(it->second.get()).c_str(), target.dir_fd,
                             target.name.c_str(), AT_SYMLINK_FOLLOW) < 0)
                    throw_errno("link", rel);
                return;
            }
        }
        UniqueFd in(::open(fd_path(src_fd).c_str(), O_RDONLY | O_CLOEXEC));
        if (!in) throw_errno("open", rel);
        UniqueFd out(::openat(target.dir_fd, target.name.c_str(),
                              O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!out) throw_errno("create", target.name);
        copy_bytes(in.get(), out.get(), rel);
        if (st.st_nlink > 1 && links_.size() < 4096)
            links_.emplace(std::make_pair(st.st_dev, st.st_ino),
                           UniqueFd(::openat(target.dir_fd, target.name.c_str(),
                                             O_PATH | O_NOFOLLOW | O_CLOEXEC)));
    } else if (S_ISLNK(st.st_mode)) {
        std::string link = read_link(src_fd, "");
        if (::symlinkat(link.c_str(), target.dir_fd, target.name.c_str()) < 0)
            throw_errno("symlink", target.name);
    } else if (S_ISFIFO(st.st_mode)) {
        if (::mkfifoat(target.dir_fd, target.name.c_str(), st.st_mode & 07777) < 0)
            throw_errno("mkfifo", target.name);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
        if (::mknodat(target.dir_fd, target.name.c_str(), st.st_mode, st.st_rdev) < 0)
            throw_errno("mknod", target.name);
    }
    apply_info(src_fd, st, target);
}

void Copier::copy_directory(int src_fd, const struct stat& st, const std::string& rel,
                            const Target& dst, bool overwrite_metadata, bool included,
                            Pending* parent) {
    bool created = false;
    UniqueFd dir;
    Pending pending{this, src_fd, &st, dst, parent, {}};
    if (included) {
        Target target = dst;
        if (parent) target.dir_fd = parent->ensure();
        if (target.name.empty()) {
            dir.reset(::openat(target.dir_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
        } else {
            struct stat existing {};
            if (::fstatat(target.dir_fd, target.name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) < 0) {
                if (::mkdirat(target.dir_fd, target.name.c_str(), st.st_mode & 07777) < 0)
                    throw_errno("mkdir", rel.empty() ? target.name : rel);
                created = true;
            } else if (!S_ISDIR(existing.st_mode)) {
                throw Error("cannot copy to non-directory: " + (rel.empty() ? target.name : rel));
            }
            dir.reset(::openat(target.dir_fd, target.name.c_str(),
                               O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        }
        if (!dir) throw_errno("open", rel.empty() ? target.name : rel);
        pending.made.reset(::dup(dir.get()));
        pending.target = target;
    } else if (!selection_.descend_excluded()) {
        return;
    }
    UniqueFd readable(::openat(src_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!readable) throw_errno("open", rel.empty() ? "." : rel);
    for (const auto& name : sorted_names(readable.get(), rel)) {
        UniqueFd child(::openat(readable.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!child) throw_errno("open", rel.empty() ? name : rel + "/" + name);
        struct stat cst = fd_stat(child.get(), name);
        std::string child_rel = rel.empty() ? name : rel + "/" + name;
        copy_entry(child.get(), cst, child_rel, {pending.made ? pending.made.get() : -1, name},
                   true, pending.made ? nullptr : &pending);
    }
    if (included && (created || overwrite_metadata)) apply_info(src_fd, st, pending.target);
}

std::string dest_parent(const std::string& path) {
    return parent_path(path);
}

}  // namespace

bool path_pattern_matches(std::string_view pattern, std::string_view path) {
    return match_from(pattern, path);
}

ModeChange ModeChange::parse(const std::string& text) {
    ModeChange m;
    m.text_ = text;
    if (text.empty()) return m;
    bool numeric =
        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (numeric) {
        bool octal_digits =
            std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '7'; });
        unsigned long v = octal_digits && text.size() <= 6 ? std::stoul(text, nullptr, 8) : 0xFFFFF;
        if (!octal_digits || v > 07777)
            throw Error("invalid chmod parameter: '" + text +
                        "'. it should be octal string and between 0 and 07777");
        m.octal_ = static_cast<mode_t>(v);
        return m;
    }
    for (const auto& clause_text : split(text, ',')) {
        size_t i = 0;
        mode_t who = 0;
        for (; i < clause_text.size(); ++i) {
            char c = clause_text[i];
            if (c == 'u')
                who |= 04700;
            else if (c == 'g')
                who |= 02070;
            else if (c == 'o')
                who |= 01007;
            else if (c == 'a')
                who |= 07777;
            else
                break;
        }
        if (who == 0) who = 07777;
        if (i >= clause_text.size())
            throw Error("invalid chmod parameter: '" + text + "': no operator in \"" + clause_text +
                        "\"");
        while (i < clause_text.size()) {
            Clause c;
            c.who = who;
            c.op = clause_text[i++];
            if (c.op != '+' && c.op != '-' && c.op != '=')
                throw Error("invalid chmod parameter: '" + text + "'");
            for (; i < clause_text.size(); ++i) {
                char p = clause_text[i];
                if (p == 'r')
                    c.bits |= 0444;
                else if (p == 'w')
                    c.bits |= 0222;
                else if (p == 'x')
                    c.bits |= 0111;
                else if (p == 'X')
                    c.conditional_x = true;
                else if (p == 's')
                    c.bits |= 06000;
                else if (p == 't')
                    c.bits |= 01000;
                else if (p == '+' || p == '-' || p == '=')
                    break;
                else
                    throw Error("invalid chmod parameter: '" + text + "'");
            }
            m.clauses_.push_back(c);
        }
    }
    return m;
}

mode_t ModeChange::apply(mode_t mode) const {
    if (octal_) return *octal_;
    mode_t perm = mode & 07777;
    for (const auto& c : clauses_) {
        mode_t bits = c.bits;
        if (c.conditional_x && (S_ISDIR(mode) || (perm & 0111))) bits |= 0111;
        bits &= c.who;
        if (c.op == '+')
            perm |= bits;
        else if (c.op == '-')
            perm &= ~bits;
        else
            perm = (perm & ~c.who) | bits;
    }
    return perm;
}

bool make_directories(int root_fd, const std::string& path, mode_t mode,
                      const std::optional<Owner>& owner) {
    std::string cleaned = clean_path("/" + path);
    if (cleaned == "/") return false;
    UniqueFd current = openat2_fd(root_fd, "/", O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT);
    std::string walked;
    bool created = false;
    for (const auto& part : split(cleaned.substr(1), '/')) {
        walked += "/" + part;
        // Each component through the root (symlinks in it stay inside).
        UniqueFd next;
        try {
            next = openat2_fd(root_fd, walked, O_PATH | O_DIRECTORY,
                              RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        } catch (const SystemError& e) {
            if (e.code() == ENOTDIR) throw Error("mkdir " + walked + ": not a directory");
            if (e.code() != ENOENT) throw;
            if (::mkdirat(current.get(), part.c_str(), mode & 07777) < 0 && errno != EEXIST)
                throw_errno("mkdir", walked);
            created = true;
            next =
                openat2_fd(current.get(), part, O_PATH | O_DIRECTORY | O_NOFOLLOW, RESOLVE_BENEATH);
            // mkdir's mode went through the umask; and the owner is --chown's.
            if (::chmod(fd_path(next.get()).c_str(), mode & 07777) < 0)
                throw_errno("chmod", walked);
            if (owner && ::fchownat(next.get(), "", owner->uid, owner->gid, AT_EMPTY_PATH) < 0)
                throw_errno("chown", walked);
        }
        current = std::move(next);
    }
    return created;
}

std::vector<std::string> resolve_sources(const SourceRoot& root, const std::string& source) {
    std::string rel = relative_source(source);
    if (!has_wildcards(rel)) {
        if (root.ignore && !rel.empty() && root.ignore->matches(rel))
            throw Error(source + ": not found (excluded by .dockerignore)");
        open_source(root, rel, true);  // exists (and stays inside)
        return {rel};
    }
    // The directory before the first component with a wildcard, then the pattern below it.
    std::vector<std::string> parts = split(rel, '/');
    std::string base, pattern;
    bool wild = false;
    for (const auto& p : parts) {
        if (!wild && has_wildcards(p)) wild = true;
        std::string& into = wild ? pattern : base;
        into += (into.empty() ? "" : "/") + p;
    }
    size_t depth = static_cast<size_t>(std::count(pattern.begin(), pattern.end(), '/')) + 1;
    std::vector<std::string> matches;
    UniqueFd base_fd;
    try {
        base_fd = open_source(root, base, true);
    } catch (const Error&) {
        return matches;
    }
    std::function<void(int, const std::string&, size_t)> walk =
        [&](int fd, const std::string& below, size_t level) {
            UniqueFd readable(::openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
            if (!readable) return;
            for (const auto& name : sorted_names(readable.get(), below)) {
                std::string rel_below = below.empty() ? name : below + "/" + name;
                std::string full = base.empty() ? rel_below : base + "/" + rel_below;
                if (root.ignore && root.ignore->matches(full)) continue;
                if (path_pattern_matches(pattern, rel_below)) {
                    matches.push_back(full);
                    continue;
                }
                if (level + 1 >= depth) continue;
                struct stat st {};
                if (::fstatat(readable.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !S_ISDIR(st.st_mode))
                    continue;
                UniqueFd sub(::openat(readable.get(), name.c_str(),
                                      O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
                if (sub) walk(sub.get(), rel_below, level + 1);
            }
        };
    walk(base_fd.get(), "", 0);
    return matches;
}

void walk_source(const SourceRoot& root, const std::string& source,
                 const std::vector<std::string>& excludes,
                 const std::function<void(const SourceVisit&)>& visit) {
    Selection selection(root, source, excludes);
    UniqueFd top = open_source(root, source, true);
    struct stat st = fd_stat(top.get(), source);
    SourceVisit v;
    v.st = &st;
    v.dir_fd = top.get();
    visit(v);
    if (!S_ISDIR(st.st_mode)) return;
    std::function<void(int, const std::string&)> walk = [&](int fd, const std::string& rel) {
        UniqueFd readable(::openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!readable) throw_errno("open", rel.empty() ? source : rel);
        for (const auto& name : sorted_names(readable.get(), rel)) {
            std::string child_rel = rel.empty() ? name : rel + "/" + name;
            struct stat cst {};
            if (::fstatat(readable.get(), name.c_str(), &cst, AT_SYMLINK_NOFOLLOW) < 0)
                throw_errno("stat", child_rel);
            bool included = selection.included(child_rel);
            if (included) {
                SourceVisit c;
                c.rel = child_rel;
                c.st = &cst;
                c.dir_fd = readable.get();
                c.name = name;
                if (S_ISLNK(cst.st_mode)) c.link_target = read_link(readable.get(), name);
                visit(c);
            }
            if (S_ISDIR(cst.st_mode) && (included || selection.descend_excluded())) {
                UniqueFd sub(::openat(readable.get(), name.c_str(),
                                      O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
                if (!sub) throw_errno("open", child_rel);
                walk(sub.get(), child_rel);
            }
        }
    };
    walk(top.get(), "");
}

void copy_source(const SourceRoot& root, const std::string& source, int dest_root_fd,
                 const std::string& dest, const CopyOptions& options) {
    UniqueFd src = open_source(root, source, true);
    struct stat st = fd_stat(src.get(), source);
    bool dest_is_dir = dest.ends_with("/") || dest.ends_with("/.");
    std::string target = clean_path("/" + dest);
    mode_t dir_mode = options.mode.octal().value_or(0755);

    if (options.unpack_archives && S_ISREG(st.st_mode)) {
        UniqueFd in(::open(fd_path(src.get()).c_str(), O_RDONLY | O_CLOEXEC));
        if (in && is_archive(in.get())) {
            // Extracted beside, then merged in like a directory (owners kept unless --chown).
            std::string scratch = options.scratch + "/unpack";
            remove_tree(scratch);
            if (::mkdir(scratch.c_str(), 0755) < 0) throw_errno("mkdir", scratch);
            struct stat before {
            }, after{};
            {
                UniqueFd dir = open_file(scratch, O_RDONLY | O_DIRECTORY);
                ::fstat(dir.get(), &before);
                unpack_tarball(in.get(), dir.get(), source);
                ::fstat(dir.get(), &after);
            }
            make_directories(dest_root_fd, target, 0755, options.owner);
            // A "./" entry gives the destination its owner and mode, as docker's Untar does.
            if (after.st_mode != before.st_mode || after.st_uid != before.st_uid ||
                after.st_gid != before.st_gid) {
                UniqueFd d = openat2_fd(dest_root_fd, target, O_PATH | O_DIRECTORY,
                                        RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
                Owner o = options.owner.value_or(Owner{after.st_uid, after.st_gid});
                if (::fchownat(d.get(), "", o.uid, o.gid, AT_EMPTY_PATH) < 0)
                    throw_errno("chown", target);
                if (::chmod(fd_path(d.get()).c_str(), after.st_mode & 07777) < 0)
                    throw_errno("chmod", target);
            }
            SourceRoot extracted{open_file(scratch, O_PATH | O_DIRECTORY).release(), false,
                                 nullptr};
            UniqueFd extracted_fd(extracted.fd);
            CopyOptions inner = options;
            inner.unpack_archives = false;
            inner.excludes.clear();
            copy_source(extracted, "", dest_root_fd, target + "/", inner);
            extracted_fd.reset();
            remove_tree(scratch);
            return;
        }
    }

    make_directories(dest_root_fd, dest_is_dir ? target : dest_parent(target), dir_mode,
                     options.owner);
    std::optional<struct stat> existing;
    try {
        UniqueFd d =
            openat2_fd(dest_root_fd, target, O_PATH, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        existing = fd_stat(d.get(), target);
    } catch (const SystemError& e) {
        if (e.code() != ENOENT) throw;
    }
    if (!S_ISDIR(st.st_mode) && existing && S_ISDIR(existing->st_mode)) {
        std::string base = base_name(source.empty() ? "." : source);
        target = clean_path(target + "/" + base);
    }
    std::string parent = (S_ISDIR(st.st_mode) && !existing) ? target : dest_parent(target);
    make_directories(dest_root_fd, parent, dir_mode, options.owner);

    Copier copier(root, source, options);
    if (target == "/") {
        UniqueFd root_dir = openat2_fd(dest_root_fd, "/", O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT);
        copier.copy_entry(src.get(), st, "", {root_dir.get(), ""}, false, nullptr);
        return;
    }
    UniqueFd parent_fd = openat2_fd(dest_root_fd, dest_parent(target), O_PATH | O_DIRECTORY,
                                    RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
    copier.copy_entry(src.get(), st, "", {parent_fd.get(), base_name(target)}, false, nullptr);
}

void write_file_entry(int dest_root_fd, const std::string& dest, const std::string& file_name,
                      const std::string& data, mode_t mode, const CopyOptions& options,
                      std::optional<int64_t> mtime) {
    std::string target = clean_path("/" + dest);
    bool into_directory = dest.ends_with("/") || dest.ends_with("/.");
    if (!into_directory) {
        try {
            UniqueFd d =
                openat2_fd(dest_root_fd, target, O_PATH, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
            into_directory = S_ISDIR(fd_stat(d.get(), target).st_mode);
        } catch (const SystemError& e) {
            if (e.code() != ENOENT) throw;
        }
    }
    if (into_directory) target = clean_path(target + "/" + file_name);
    make_directories(dest_root_fd, dest_parent(target), options.mode.octal().value_or(0755),
                     options.owner);
    UniqueFd parent = openat2_fd(dest_root_fd, dest_parent(target), O_PATH | O_DIRECTORY,
                                 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
    std::string name = base_name(target);
    struct stat existing {};
    if (::fstatat(parent.get(), name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISDIR(existing.st_mode))
            throw Error("cannot replace directory " + target + " with a file");
        ::unlinkat(parent.get(), name.c_str(), 0);
    }
    UniqueFd out(::openat(parent.get(), name.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out) throw_errno("create", target);
    write_all(out.get(), data, target);
    Owner owner = options.owner.value_or(Owner{});
    if (::fchown(out.get(), owner.uid, owner.gid) < 0) throw_errno("chown", target);
    mode_t final_mode = options.mode.empty() ? mode : options.mode.apply(S_IFREG | mode);
    if (::fchmod(out.get(), final_mode) < 0) throw_errno("chmod", target);
    if (mtime) {
        timespec times[2] = {{*mtime, 0}, {*mtime, 0}};
        ::futimens(out.get(), times);
    }
}

}  // namespace berth::build
