#include "common/remove_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/unique_fd.hpp"

namespace berth {
namespace {

void remove_contents(int dirfd, const std::string& what, int depth) {
    if (depth > 4096) throw_system_error(ELOOP, "remove", what);
    for (const auto& name : list_directory(dirfd, what)) {
        if (::unlinkat(dirfd, name.c_str(), 0) == 0 || errno == ENOENT) continue;
        if (errno != EISDIR) throw_errno("remove", what + "/" + name);
        int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) continue;  // removed meanwhile by someone else
        if (fd < 0) {
            // Not searchable for us (mode 0000 and no CAP_DAC_OVERRIDE): make it so.
            if (errno != EACCES || ::fchmodat(dirfd, name.c_str(), 0700, 0) < 0)
                throw_errno("open", what + "/" + name);
            fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0) throw_errno("open", what + "/" + name);
        }
        UniqueFd child(fd);
        struct stat st {};
        if (::fstat(child.get(), &st) == 0 && (st.st_mode & 0700) != 0700)
            ::fchmod(child.get(), st.st_mode | 0700);
        remove_contents(child.get(), what + "/" + name, depth + 1);
        if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT)
            throw_errno("remove", what + "/" + name);
    }
}

}  // namespace

void remove_tree_contents(int dirfd, const std::string& what) {
    remove_contents(dirfd, what, 0);
}

void remove_tree_at(int dirfd, const std::string& name) {
    if (::unlinkat(dirfd, name.c_str(), 0) == 0 || errno == ENOENT) return;
    if (errno != EISDIR) throw_errno("remove", name);
    int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return;
        throw_errno("open", name);
    }
    UniqueFd dir(fd);
    struct stat st {};
    if (::fstat(dir.get(), &st) == 0 && (st.st_mode & 0700) != 0700)
        ::fchmod(dir.get(), st.st_mode | 0700);
    remove_contents(dir.get(), name, 0);
    if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT)
        throw_errno("remove", name);
}

void remove_tree(const std::string& path) {
    remove_tree_at(AT_FDCWD, path);
}

}  // namespace berth
