#include "image/layer_apply.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <memory>
#include <unordered_set>
#include <vector>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/log.hpp"
#include "common/path.hpp"
#include "common/remove_tree.hpp"
#include "common/unique_fd.hpp"
#include "common/user_namespace.hpp"

namespace berth::image {
namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
// trusted.* needs the host's root; in a user namespace overlayfs reads user.overlay.*
// instead when mounted with userxattr (rootfs.cpp).
constexpr std::string_view kOverlayOpaqueXattr = "trusted.overlay.opaque";
constexpr std::string_view kUserOverlayOpaqueXattr = "user.overlay.opaque";

[[noreturn]] void reject(const std::string& why) {
    throw LayerError(why);
}

struct ArchiveDeleter {
    void operator()(archive* a) const { archive_read_free(a); }
};

struct ReadContext {
    ByteSource* source = nullptr;
    std::vector<char> buffer;
    std::exception_ptr error;
};

la_ssize_t read_callback(archive* a, void* client, const void** buffer) {
    auto* ctx = static_cast<ReadContext*>(client);
    try {
        size_t n = ctx->source->read(ctx->buffer.data(), ctx->buffer.size());
        *buffer = ctx->buffer.data();
        return static_cast<la_ssize_t>(n);
    } catch (...) {
        ctx->error = std::current_exception();
        archive_set_error(a, EIO, "read failed");
        return -1;
    }
}

bool escapes(const std::string& cleaned_relative) {
    return cleaned_relative == ".." || cleaned_relative.starts_with("../");
}

// The entry's name relative to the layer root ("." for the root itself).
std::string relative_name(const std::string& raw) {
    if (raw.empty()) reject("empty name");
    std::string cleaned = clean_path(raw);
    if (is_absolute_path(cleaned)) {
        cleaned.erase(0, 1);
        return cleaned.empty() ? "." : cleaned;
    }
    if (escapes(cleaned)) reject("name climbs out of the layer root with \"..\"");
    return cleaned;
}

std::string parent_of(const std::string& relative) {
    size_t slash = relative.rfind('/');
    return slash == std::string::npos ? "." : relative.substr(0, slash);
}

std::string base_of(const std::string& relative) {
    size_t slash = relative.rfind('/');
    return slash == std::string::npos ? relative : relative.substr(slash + 1);
}

std::string join_relative(const std::string& dir, const std::string& name) {
    return dir == "." ? name : dir + "/" + name;
}

int openat2_fd(int dirfd, const std::string& path, int flags, uint64_t resolve) {
    open_how how{};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.resolve = resolve;
    int fd;
    do {
        fd = static_cast<int>(::syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how));
    } while (fd < 0 && (errno == EINTR || errno == EAGAIN));
    return fd;
}

std::string read_link_at(int dirfd, const std::string& name, const std::string& what) {
    std::string target(4096, '\0');
    ssize_t n = ::readlinkat(dirfd, name.c_str(), target.data(), target.size());
    if (n < 0) throw_errno("readlink", what);
    target.resize(static_cast<size_t>(n));
    return target;
}

// The process umask, read without changing it (umask(2) would race with other threads).
mode_t current_umask() {
    auto text = read_file_if_exists("/proc/self/status");
    if (text) {
        size_t at = text->find("Umask:\t");
        if (at != std::string::npos)
            return static_cast<mode_t>(std::stoul(text->substr(at + 7), nullptr, 8));
    }
    return 022;
}

struct DeferredDir {
    std::string path;
    mode_t mode;
    timespec times[2];
};

class Applier {
  public:
    Applier(int root_fd, const ApplyOptions& options)
        : root_fd_(root_fd), options_(options), root_(::geteuid() == 0) {}

    void apply(archive* a, archive_entry* e, const std::string& raw);
    void finish();
    [[nodiscard]] const ApplyStats& stats() const { return stats_; }

  private:
    UniqueFd resolve_dir(const std::string& relative, bool create);
    int parent_fd(const std::string& relative);
    void forget_parent() {
        cached_path_.clear();
        cached_fd_.reset();
    }
    void mark_created(const std::string& relative);
    void clear_existing(int dir, const std::string& name, bool keep_dir);
    void whiteout(const std::string& parent, const std::string& name);
    void opaque(const std::string& parent);
    void clear_opaque(int dir_fd, const std::string& relative, int depth);
    // fresh: made just now by this root process, so already 0:0 unless its directory is setgid.
    void set_owner(int dir, const std::string& name, archive_entry* e, bool fresh = false) const;
    void set_xattrs(int fd, int dir, const std::string& name, archive_entry* e) const;
    static void times_of(archive_entry* e, timespec times[2]);
    int64_t write_data(archive* a, int fd, const std::string& relative);
    // A new file, directory, link or node called base in dir: made directly, and only when
    // something is in the way (a lower layer's entry) cleared first and made again.
    template <typename Make>
    int create(int& dir, const std::string& relative, const std::string& base, bool keep_dir,
               Make make);

    int root_fd_;
    ApplyOptions options_;
    bool root_;
    std::string cached_path_;
    UniqueFd cached_fd_;
    bool cached_setgid_ = false;
    mode_t umask_ = current_umask();
    std::unordered_set<std::string> created_;
    std::vector<DeferredDir> deferred_;
    ApplyStats stats_;
};

// An O_PATH fd of the directory at relative (inside the root). Components that are symlinks
// are followed inside the root unless they point out of it, which is refused. create: missing
// directories are made (0755); otherwise an absent one yields an invalid fd.
// NOLINTNEXTLINE(readability-make-member-function-const): create makes directories
UniqueFd Applier::resolve_dir(const std::string& relative, bool create) {
    if (relative == ".") return UniqueFd(openat2_fd(root_fd_, ".", O_PATH | O_DIRECTORY, 0));
    // Usually: a plain directory path, no symlinks.
    int fd = openat2_fd(root_fd_, relative, O_PATH | O_DIRECTORY,
                        RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    if (fd >= 0) return UniqueFd(fd);
    if (errno != ENOENT && errno != ELOOP && errno != ENOTDIR) throw_errno("open", relative);

    UniqueFd current(openat2_fd(root_fd_, ".", O_PATH | O_DIRECTORY, 0));
    if (!current) throw_errno("open", "layer root");
    std::string logical, physical;
    size_t i = 0;
    while (i < relative.size()) {
        size_t j = relative.find('/', i);
        if (j == std::string::npos) j = relative.size();
        std::string name = relative.substr(i, j - i);
        i = j + 1;
        logical = join_relative(logical.empty() ? "." : logical, name);
        struct stat st {};
        if (::fstatat(current.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT) throw_errno("stat", logical);
            if (!create) return UniqueFd();
            if (::mkdirat(current.get(), name.c_str(), 0755) < 0 && errno != EEXIST)
                throw_errno("mkdir", logical);
            if (::fstatat(current.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
                throw_errno("stat", logical);
        }
        if (S_ISLNK(st.st_mode)) {
            std::string target = read_link_at(current.get(), name, logical);
            std::string from = physical.empty() ? "." : physical;
            std::string resolved = is_absolute_path(target)
                                       ? std::string("/")
                                       : clean_path(join_relative(from, target));
            if (is_absolute_path(target) || escapes(resolved))
                reject(std::string("goes through the symlink \"")
                           .append(logical)
                           .append("\" -> \"")
                           .append(target)
                           .append("\", which points out of the layer root"));
            if (create) {
                current = mkdir_all_in_root(root_fd_, resolved);
            } else {
                current = try_open_in_root(root_fd_, resolved, O_PATH | O_DIRECTORY);
                if (!current) return UniqueFd();
            }
            physical = resolved;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) throw_system_error(ENOTDIR, "open", logical);
        int next =
            ::openat(current.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0) throw_errno("open", logical);
        current.reset(next);
        physical = join_relative(physical.empty() ? "." : physical, name);
    }
    return current;
}

int Applier::parent_fd(const std::string& relative) {
    std::string parent = parent_of(relative);
    if (cached_fd_ && cached_path_ == parent) return cached_fd_.get();
    cached_fd_ = resolve_dir(parent, true);
    cached_path_ = parent;
    // New files take a setgid directory's group: then owners are always set explicitly.
    struct stat st {};
    cached_setgid_ = ::fstat(cached_fd_.get(), &st) < 0 || (st.st_mode & S_ISGID) != 0;
    return cached_fd_.get();
}

void Applier::mark_created(const std::string& relative) {
    // The entry and its parents: an opaque marker later in this layer must keep them.
    size_t pos = 0;
    while ((pos = relative.find('/', pos)) != std::string::npos) {
        created_.insert(relative.substr(0, pos));
        ++pos;
    }
    created_.insert(relative);
}

// Makes room for a new entry called name in dir: a non-directory is unlinked; a directory
// is kept when keep_dir (directories merge), else removed with its contents.
void Applier::clear_existing(int dir, const std::string& name, bool keep_dir) {
    struct stat st {};
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT) return;
        throw_errno("stat", name);
    }
    if (S_ISDIR(st.st_mode)) {
        if (keep_dir) return;
        remove_tree_at(dir, name);
    } else if (::unlinkat(dir, name.c_str(), 0) < 0 && errno != ENOENT) {
        throw_errno("remove", name);
    }
    forget_parent();
}

void Applier::set_owner(int dir, const std::string& name, archive_entry* e, bool fresh) const {
    if (!root_) return;  // unprivileged: files stay ours
    auto uid = static_cast<uid_t>(archive_entry_uid(e));
    auto gid = static_cast<gid_t>(archive_entry_gid(e));
    if (fresh && uid == 0 && gid == 0 && !cached_setgid_) return;
    if (::fchownat(dir, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
        throw_errno("chown", name);
}

void Applier::times_of(archive_entry* e, timespec times[2]) {
    times[1] = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
    if (archive_entry_atime_is_set(e))
        times[0] = {archive_entry_atime(e), archive_entry_atime_nsec(e)};
    else
        times[0] = times[1];
}

// Extended attributes of the entry, on fd when there is one, else on dir/name (no follow).
// overlayfs' own attributes are never taken from a layer: they would redirect lookups.
void Applier::set_xattrs(int fd, int dir, const std::string& name, archive_entry* e) const {
    if (archive_entry_xattr_reset(e) == 0) return;
    const char* key = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    while (archive_entry_xattr_next(e, &key, &value, &size) == ARCHIVE_OK) {
        std::string_view k(key);
        if (k.starts_with("trusted.overlay.") || k.starts_with("user.overlay.")) continue;
        int rc = fd >= 0 ? ::fsetxattr(fd, key, value, size, 0)
                         : ::lsetxattr((fd_path(dir) + "/" + name).c_str(), key, value, size, 0);
        if (rc < 0) {
            // Filesystems without xattrs, user.* on symlinks, security.* without privilege.
            if (errno == ENOTSUP || errno == EPERM || errno == EACCES) {
                log::debug("xattr " + std::string(k) + " on " + name +
                           " skipped: " + std::strerror(errno));
                continue;
            }
            throw_errno("setxattr " + std::string(k), name);
        }
    }
}

int64_t Applier::write_data(archive* a, int fd, const std::string& relative) {
    const void* block = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    int64_t end = 0;
    for (;;) {
        int r = archive_read_data_block(a, &block, &size, &offset);
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) reject(archive_error_string(a));
        const char* p = static_cast<const char*>(block);
        size_t left = size;
        la_int64_t at = offset;
        while (left > 0) {
            ssize_t n = ::pwrite(fd, p, left, at);
            if (n < 0) {
                if (errno == EINTR) continue;
                throw_errno("write", relative);
            }
            p += n;
            at += n;
            left -= static_cast<size_t>(n);
        }
        end = std::max<int64_t>(end, at);
        stats_.file_bytes += size;
    }
    return end;
}

template <typename Make>
int Applier::create(int& dir, const std::string& relative, const std::string& base, bool keep_dir,
                    Make make) {
    int rc = make(dir);
    if (rc >= 0 || errno != EEXIST) return rc;
    clear_existing(dir, base, keep_dir);
    dir = parent_fd(relative);
    return make(dir);
}

void Applier::whiteout(const std::string& parent, const std::string& name) {
    std::string target = join_relative(parent, name);
    // A whiteout hides what lower layers have, never what this layer put there.
    if (created_.contains(target)) return;
    if (options_.whiteouts == WhiteoutMode::overlay) {
        int dir = parent_fd(target);
        clear_existing(dir, name, false);
        if (::mknodat(dir, name.c_str(), S_IFCHR | 0, makedev(0, 0)) < 0)
            throw_errno("make whiteout device", target);
        return;
    }
    UniqueFd dir = resolve_dir(parent, false);
    if (!dir) return;
    remove_tree_at(dir.get(), name);
    forget_parent();
}

void Applier::opaque(const std::string& parent) {
    if (options_.whiteouts == WhiteoutMode::overlay) {
        UniqueFd path_fd = resolve_dir(parent, true);
        int fd = ::openat(path_fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) throw_errno("open", parent);
        UniqueFd dir(fd);
        std::string_view xattr =
            in_initial_user_namespace() ? kOverlayOpaqueXattr : kUserOverlayOpaqueXattr;
        if (::fsetxattr(dir.get(), xattr.data(), "y", 1, 0) < 0)
            throw_errno("mark opaque (" + std::string(xattr) + ")", parent);
        mark_created(parent);
        return;
    }
    UniqueFd dir = resolve_dir(parent, false);
    if (!dir) return;
    clear_opaque(dir.get(), parent, 0);
    forget_parent();
}

// Removes from the directory everything this layer did not create, recursing into the
// directories it did create (lower content under them is hidden too).
void Applier::clear_opaque(int dir_fd, const std::string& relative, int depth) {
    if (depth > 4096) throw_system_error(ELOOP, "clear", relative);
    for (const auto& name : list_directory(dir_fd, relative)) {
        std::string child = join_relative(relative, name);
        if (!created_.contains(child)) {
            remove_tree_at(dir_fd, name);
            continue;
        }
        struct stat st {};
        if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
            int fd = ::openat(dir_fd, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0) throw_errno("open", child);
            UniqueFd sub(fd);
            clear_opaque(sub.get(), child, depth + 1);
        }
    }
}

void Applier::apply(archive* a, archive_entry* e, const std::string& raw) {
    ++stats_.entries;
    std::string relative = relative_name(raw);
    std::string base = base_of(relative);
    std::string parent = parent_of(relative);

    if (base.starts_with(kWhiteoutPrefix)) {
        if (base == kOpaqueMarker) return opaque(parent);
        if (base.starts_with(std::string(kWhiteoutPrefix) + std::string(kWhiteoutPrefix)))
            return;  // other aufs metadata (.wh..wh.plnk, ...): not content
        std::string name = base.substr(kWhiteoutPrefix.size());
        if (name.empty() || name == "." || name == "..") reject("invalid whiteout name");
        return whiteout(parent, name);
    }

    mode_t type = archive_entry_filetype(e);
    auto mode = static_cast<mode_t>(archive_entry_perm(e));
    timespec times[2];
    times_of(e, times);

    if (relative == ".") {
        if (type != AE_IFDIR) reject("the root entry is not a directory");
        if (options_.skip_root_entry) return;
        set_owner(root_fd_, ".", e);
        deferred_.push_back({".", mode, {times[0], times[1]}});
        return;
    }
    mark_created(relative);
    int dir = parent_fd(relative);

    if (const char* link = archive_entry_hardlink(e)) {
        std::string target = relative_name(link);
        if (target == ".") reject("hardlink to the root directory");
        UniqueFd target_dir = resolve_dir(parent_of(target), false);
        if (!target_dir) reject("hardlink target \"" + std::string(link) + "\" does not exist");
        clear_existing(dir, base, false);
        dir = parent_fd(relative);
        if (::linkat(target_dir.get(), base_of(target).c_str(), dir, base.c_str(), 0) < 0)
            throw_errno("hardlink to \"" + std::string(link) + "\":", relative);
        return;
    }

    switch (type) {
        case AE_IFDIR: {
            bool fresh = ::mkdirat(dir, base.c_str(), 0700) == 0;
            if (!fresh) {
                if (errno != EEXIST) throw_errno("mkdir", relative);
                clear_existing(dir, base, true);  // a directory stays, anything else goes
                dir = parent_fd(relative);
                if (::mkdirat(dir, base.c_str(), 0700) < 0 && errno != EEXIST)
                    throw_errno("mkdir", relative);
            }
            set_owner(dir, base, e, fresh);
            if (archive_entry_xattr_count(e) > 0) {
                int fd =
                    ::openat(dir, base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) throw_errno("open", relative);
                UniqueFd d(fd);
                set_xattrs(d.get(), dir, base, e);
            }
            deferred_.push_back({relative, mode, {times[0], times[1]}});
            return;
        }
        case AE_IFREG: {
            // Created with its permission bits when the umask lets them through: then no
            // fchmod. Root-owned files of a root process need no fchown either.
            mode_t initial = (mode & 0777 & ~umask_) == (mode & 07777) ? (mode & 0777) : 0600;
            int fd = create(dir, relative, base, false, [&](int d) {
                return ::openat(d, base.c_str(),
                                O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, initial);
            });
            if (fd < 0) throw_errno("create", relative);
            UniqueFd file(fd);
            int64_t end = write_data(a, file.get(), relative);
            la_int64_t size = archive_entry_size(e);
            if (end < size && ::ftruncate(file.get(), size) < 0)  // a sparse file's hole at the end
                throw_errno("truncate", relative);
            auto uid = static_cast<uid_t>(archive_entry_uid(e));
            auto gid = static_cast<gid_t>(archive_entry_gid(e));
            bool chowned = false;
            if (root_ && (uid != 0 || gid != 0 || cached_setgid_)) {
                if (::fchown(file.get(), uid, gid) < 0) throw_errno("chown", relative);
                chowned = true;
            }
            // chown clears setuid/setgid bits: those are set after it.
            if ((initial != (mode & 07777) || (chowned && (mode & 06000))) &&
                ::fchmod(file.get(), mode) < 0)
                throw_errno("chmod", relative);
            set_xattrs(file.get(), dir, base, e);
            if (::futimens(file.get(), times) < 0) throw_errno("set times", relative);
            return;
        }
        case AE_IFLNK: {
            const char* target = archive_entry_symlink(e);
            if (!target) reject("symlink without a target");
            if (create(dir, relative, base, false,
                       [&](int d) { return ::symlinkat(target, d, base.c_str()); }) < 0)
                throw_errno("symlink", relative);
            forget_parent();  // later entries may go through it
            dir = parent_fd(relative);
            set_owner(dir, base, e, true);
            set_xattrs(-1, dir, base, e);
            if (::utimensat(dir, base.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0)
                throw_errno("set times", relative);
            return;
        }
        case AE_IFCHR:
        case AE_IFBLK:
        case AE_IFIFO: {
            dev_t dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
            if (create(dir, relative, base, false, [&](int d) {
                    return ::mknodat(d, base.c_str(), type | mode, type == AE_IFIFO ? 0 : dev);
                }) < 0) {
                if (errno == EPERM && !root_ && type != AE_IFIFO) {
                    log::debug("device node " + relative + " skipped: not root");
                    return;
                }
                throw_errno("mknod", relative);
            }
            set_owner(dir, base, e);
            if (::fchmodat(dir, base.c_str(), mode, 0) < 0) throw_errno("chmod", relative);
            set_xattrs(-1, dir, base, e);
            if (::utimensat(dir, base.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0)
                throw_errno("set times", relative);
            return;
        }
        case AE_IFSOCK:
            return;  // sockets are not content (docker skips them too)
        default:
            reject("unsupported entry type " + std::to_string(type));
    }
}

// Directory modes and times last: entries written into a directory change its mtime, and a
// read-only mode would stop them.
void Applier::finish() {
    for (auto it = deferred_.rbegin(); it != deferred_.rend(); ++it) {
        int fd;
        if (it->path == ".") {
            fd = ::openat(root_fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        } else {
            UniqueFd parent = resolve_dir(parent_of(it->path), false);
            if (!parent) continue;  // removed by a later entry
            fd = ::openat(parent.get(), base_of(it->path).c_str(),
                          O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0 && (errno == ENOENT || errno == ELOOP || errno == ENOTDIR)) continue;
        }
        if (fd < 0) throw_errno("open", it->path);
        UniqueFd dir(fd);
        if (::fchmod(dir.get(), it->mode) < 0) throw_errno("chmod", it->path);
        if (::futimens(dir.get(), it->times) < 0) throw_errno("set times", it->path);
    }
}

}  // namespace

ApplyStats apply_layer(ByteSource& tar, int root_fd, const ApplyOptions& options,
                       const std::string& what) {
    std::unique_ptr<archive, ArchiveDeleter> a(archive_read_new());
    if (!a) throw Error(what + ": cannot allocate a tar reader");
    archive_read_support_format_tar(a.get());
    archive_read_support_format_empty(a.get());
    ReadContext ctx{&tar, std::vector<char>(256 * 1024), nullptr};
    auto archive_failure = [&](const std::string& context) {
        if (ctx.error) std::rethrow_exception(ctx.error);
        const char* message = archive_error_string(a.get());
        throw LayerError(what + ": " + context + (message ? message : "unknown error"));
    };
    if (archive_read_open(a.get(), &ctx, nullptr, read_callback, nullptr) != ARCHIVE_OK)
        archive_failure("not a tar archive: ");

    Applier applier(root_fd, options);
    archive_entry* entry = nullptr;
    for (;;) {
        int r = archive_read_next_header(a.get(), &entry);
        if (r == ARCHIVE_EOF) break;
        if (r == ARCHIVE_RETRY) continue;
        if (r == ARCHIVE_FATAL) archive_failure("corrupt tar: ");
        const char* name = archive_entry_pathname_utf8(entry);
        if (!name) name = archive_entry_pathname(entry);
        std::string raw = name ? name : "";
        try {
            applier.apply(a.get(), entry, raw);
        } catch (const std::exception& e) {
            if (ctx.error) std::rethrow_exception(ctx.error);
            throw LayerError(
                std::string(what).append(": entry \"").append(raw).append("\": ").append(e.what()));
        }
    }
    try {
        applier.finish();
    } catch (const std::exception& e) {
        throw LayerError(what + ": " + e.what());
    }
    // What follows the end marker (padding) is part of the layer's digest: read it all.
    std::vector<char> rest(64 * 1024);
    while (tar.read(rest.data(), rest.size()) > 0) {
    }
    return applier.stats();
}

}  // namespace berth::image
