#include "runtime/copy_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/unique_fd.hpp"

namespace berth::runtime {
namespace {

struct DirCloser {
    void operator()(DIR* d) const { ::closedir(d); }
};

void copy_metadata(int parent, const char* name, const struct stat& st, const std::string& what) {
    if (::fchownat(parent, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
        throw_errno("chown", what);
    if (!S_ISLNK(st.st_mode) && ::fchmodat(parent, name, st.st_mode & 07777, 0) < 0)
        throw_errno("chmod", what);
    timespec times[2] = {st.st_atim, st.st_mtim};
    if (::utimensat(parent, name, times, AT_SYMLINK_NOFOLLOW) < 0)
        throw_errno("set times of", what);
}

void copy_file(int from_parent, int to_parent, const char* name, const struct stat& st,
               const std::string& what) {
    UniqueFd in = open_file_at(from_parent, name, O_RDONLY | O_NOFOLLOW);
    UniqueFd out = open_file_at(to_parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
    off_t remaining = st.st_size;
    while (remaining > 0) {
        ssize_t n = ::sendfile(out.get(), in.get(), nullptr, static_cast<size_t>(remaining));
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("copy", what);
        }
        if (n == 0) break;
        remaining -= n;
    }
}

void copy_entries(int from, int to, const std::string& what) {
    int dup_fd = ::fcntl(from, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0) throw_errno("dup", what);
    std::unique_ptr<DIR, DirCloser> dir(::fdopendir(dup_fd));
    if (!dir) {
        ::close(dup_fd);
        throw_errno("opendir", what);
    }
    while (dirent* entry = ::readdir(dir.get())) {
        const char* name = entry->d_name;
        if (std::string_view(name) == "." || std::string_view(name) == "..") continue;
        std::string path = what + "/" + name;
        struct stat st {};
        if (::fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) < 0) throw_errno("stat", path);
        if (S_ISDIR(st.st_mode)) {
            if (::mkdirat(to, name, 0700) < 0) throw_errno("mkdir", path);
            UniqueFd sub_from = open_file_at(from, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
            UniqueFd sub_to = open_file_at(to, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
            copy_entries(sub_from.get(), sub_to.get(), path);
        } else if (S_ISREG(st.st_mode)) {
            copy_file(from, to, name, st, path);
        } else if (S_ISLNK(st.st_mode)) {
            std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
            ssize_t n = ::readlinkat(from, name, target.data(), target.size());
            if (n < 0) throw_errno("readlink", path);
            target.resize(static_cast<size_t>(n));
            if (::symlinkat(target.c_str(), to, name) < 0) throw_errno("symlink", path);
        } else {
            if (::mknodat(to, name, st.st_mode, st.st_rdev) < 0) throw_errno("mknod", path);
        }
        copy_metadata(to, name, st, path);
    }
}

}  // namespace

void copy_tree(int from_dir, int to_dir, const std::string& what) {
    copy_entries(from_dir, to_dir, what);
    struct stat st {};
    if (::fstat(from_dir, &st) < 0) throw_errno("stat", what);
    if (::fchown(to_dir, st.st_uid, st.st_gid) < 0) throw_errno("chown", what);
    if (::fchmod(to_dir, st.st_mode & 07777) < 0) throw_errno("chmod", what);
}

}  // namespace berth::runtime
