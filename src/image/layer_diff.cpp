#include "image/layer_diff.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <map>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/path.hpp"

namespace berth::image {
namespace {

struct DiffWriterDeleter {
    void operator()(archive* a) const { archive_write_free(a); }
};
struct DiffEntryDeleter {
    void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using DiffEntryPtr = std::unique_ptr<archive_entry, DiffEntryDeleter>;

// libarchive calls back through C frames: exceptions are kept and thrown after it returns.
struct DiffSinkState {
    ByteSink* sink = nullptr;
    std::exception_ptr error;
};

la_ssize_t write_to_sink(archive*, void* client, const void* buffer, size_t length) {
    auto* state = static_cast<DiffSinkState*>(client);
    try {
        state->sink->write(buffer, length);
    } catch (...) {
        state->error = std::current_exception();
        return -1;
    }
    return static_cast<la_ssize_t>(length);
}

std::vector<std::pair<std::string, std::string>> read_xattrs(const std::string& path) {
    std::vector<std::pair<std::string, std::string>> out;
    ssize_t size = ::llistxattr(path.c_str(), nullptr, 0);
    if (size <= 0) return out;
    std::string names(static_cast<size_t>(size), '\0');
    size = ::llistxattr(path.c_str(), names.data(), names.size());
    if (size <= 0) return out;
    names.resize(static_cast<size_t>(size));
    for (size_t at = 0; at < names.size();) {
        std::string name(names.c_str() + at);
        at += name.size() + 1;
        if (name.empty() || is_overlay_xattr(name)) continue;
        ssize_t vsize = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
        if (vsize < 0) continue;
        std::string value(static_cast<size_t>(vsize), '\0');
        vsize = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
        if (vsize < 0) continue;
        value.resize(static_cast<size_t>(vsize));
        out.emplace_back(std::move(name), std::move(value));
    }
    std::sort(out.begin(), out.end());
    return out;
}

bool is_opaque(const std::string& path) {
    for (const char* name : {"trusted.overlay.opaque", "user.overlay.opaque"}) {
        char value[4] = {};
        ssize_t n = ::lgetxattr(path.c_str(), name, value, sizeof value);
        if (n == 1 && value[0] == 'y') return true;
    }
    return false;
}

class TarWriter {
  public:
    TarWriter(ByteSink& out, const LayerDiffOptions& options, std::string what)
        : options_(options), what_(std::move(what)) {
        state_.sink = &out;
        archive_.reset(archive_write_new());
        if (!archive_) throw Error(what_ + ": cannot allocate a tar writer");
        archive_write_set_format_pax_restricted(archive_.get());
        archive_write_set_bytes_per_block(archive_.get(), 10240);
        archive_write_set_bytes_in_last_block(archive_.get(), 1);
        if (archive_write_open(archive_.get(), &state_, nullptr, write_to_sink, nullptr) !=
            ARCHIVE_OK)
            fail("open");
    }

    void walk(int dir_fd, const std::string& prefix) {
        std::vector<std::string> names = list_directory(dir_fd, what_ + ": " + prefix);
        std::sort(names.begin(), names.end());
        for (const auto& name : names) {
            std::string rel = prefix.empty() ? name : prefix + "/" + name;
            struct stat st {};
            if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
                throw_errno(what_ + ": stat", rel);
            std::string path = fd_path(dir_fd) + "/" + name;
            if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
                std::string parent = prefix.empty() ? "" : prefix + "/";
                add_marker(parent + ".wh." + name, st);
                continue;
            }
            if (S_ISSOCK(st.st_mode)) continue;  // a tar cannot hold one
            DiffEntryPtr entry(archive_entry_new());
            archive_entry_copy_pathname(entry.get(), rel.c_str());
            set_common(entry.get(), st);
            for (const auto& [key, value] : read_xattrs(path))
                archive_entry_xattr_add_entry(entry.get(), key.c_str(), value.data(), value.size());
            if (S_ISDIR(st.st_mode)) {
                archive_entry_set_filetype(entry.get(), AE_IFDIR);
                header(entry.get(), rel);
                if (is_opaque(path)) add_marker(rel + "/.wh..wh..opq", st);
                UniqueFd sub = open_file_at(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
                walk(sub.get(), rel);
            } else if (S_ISREG(st.st_mode)) {
                archive_entry_set_filetype(entry.get(), AE_IFREG);
                if (st.st_nlink > 1) {
                    auto key = std::make_pair(st.st_dev, st.st_ino);
                    auto it = links_.find(key);
                    if (it != links_.end()) {
                        archive_entry_copy_hardlink(entry.get(), it->second.c_str());
                        archive_entry_set_size(entry.get(), 0);
                        header(entry.get(), rel);
                        continue;
                    }
                    links_.emplace(key, rel);
                }
                archive_entry_set_size(entry.get(), st.st_size);
                header(entry.get(), rel);
                copy_data(dir_fd, name, rel, st.st_size);
            } else if (S_ISLNK(st.st_mode)) {
                archive_entry_set_filetype(entry.get(), AE_IFLNK);
                std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
                ssize_t n = ::readlinkat(dir_fd, name.c_str(), target.data(), target.size());
                if (n < 0) throw_errno(what_ + ": readlink", rel);
                target.resize(static_cast<size_t>(n));
                archive_entry_copy_symlink(entry.get(), target.c_str());
                header(entry.get(), rel);
            } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
                archive_entry_set_filetype(entry.get(), S_ISCHR(st.st_mode)   ? AE_IFCHR
                                                        : S_ISBLK(st.st_mode) ? AE_IFBLK
                                                                              : AE_IFIFO);
                archive_entry_set_rdevmajor(entry.get(), major(st.st_rdev));
                archive_entry_set_rdevminor(entry.get(), minor(st.st_rdev));
                header(entry.get(), rel);
            }
        }
    }

    LayerDiffStats finish() {
        if (archive_write_close(archive_.get()) != ARCHIVE_OK) fail("close");
        state_.sink->finish();
        return stats_;
    }

  private:
    int64_t clamp(int64_t t) const {
        return options_.clamp_mtime && t > *options_.clamp_mtime ? *options_.clamp_mtime : t;
    }

    void set_common(archive_entry* e, const struct stat& st) {
        archive_entry_set_perm(e, st.st_mode & 07777);
        archive_entry_set_uid(e, st.st_uid);
        archive_entry_set_gid(e, st.st_gid);
        archive_entry_set_mtime(e, clamp(st.st_mtim.tv_sec), 0);
    }

    // A whiteout or an opaque-directory marker: an empty regular file.
    void add_marker(const std::string& name, const struct stat& st) {
        DiffEntryPtr entry(archive_entry_new());
        archive_entry_copy_pathname(entry.get(), name.c_str());
        archive_entry_set_filetype(entry.get(), AE_IFREG);
        archive_entry_set_perm(entry.get(), 0);
        archive_entry_set_uid(entry.get(), 0);
        archive_entry_set_gid(entry.get(), 0);
        archive_entry_set_mtime(entry.get(), clamp(st.st_mtim.tv_sec), 0);
        archive_entry_set_size(entry.get(), 0);
        header(entry.get(), name);
    }

    void header(archive_entry* e, const std::string& rel) {
        int rc = archive_write_header(archive_.get(), e);
        if (rc < ARCHIVE_WARN) fail("entry \"" + rel + "\"");
        ++stats_.entries;
    }

    void copy_data(int dir_fd, const std::string& name, const std::string& rel, int64_t size) {
        UniqueFd fd = open_file_at(dir_fd, name, O_RDONLY | O_NOFOLLOW);
        int64_t left = size;
        while (left > 0) {
            ssize_t n = ::read(fd.get(), buffer_.data(),
                               static_cast<size_t>(std::min<int64_t>(left, buffer_.size())));
            if (n < 0) {
                if (errno == EINTR) continue;
                throw_errno(what_ + ": read", rel);
            }
            if (n == 0) throw Error(what_ + ": " + rel + ": file shrank while it was read");
            if (archive_write_data(archive_.get(), buffer_.data(), static_cast<size_t>(n)) < 0)
                fail("entry \"" + rel + "\"");
            left -= n;
            stats_.file_bytes += n;
        }
    }

    [[noreturn]] void fail(const std::string& where) {
        if (state_.error) std::rethrow_exception(state_.error);
        const char* message = archive_error_string(archive_.get());
        throw Error(what_ + ": " + where + ": " + (message ? message : "tar writer failed"));
    }

    const LayerDiffOptions& options_;
    std::string what_;
    DiffSinkState state_;
    std::unique_ptr<archive, DiffWriterDeleter> archive_;
    std::map<std::pair<dev_t, ino_t>, std::string> links_;
    std::vector<char> buffer_ = std::vector<char>(256 * 1024);
    LayerDiffStats stats_;
};

}  // namespace

bool is_overlay_xattr(std::string_view name) {
    return name.starts_with("trusted.overlay.") || name.starts_with("user.overlay.");
}

LayerDiffStats write_upper_dir_tar(int dir_fd, ByteSink& out, const LayerDiffOptions& options,
                                   const std::string& what) {
    TarWriter writer(out, options, what);
    writer.walk(dir_fd, "");
    return writer.finish();
}

}  // namespace berth::image
