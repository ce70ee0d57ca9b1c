#include "common/owned_temp.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <vector>

#include "common/error.hpp"
#include "common/remove_tree.hpp"

namespace berth {
namespace {

constexpr char kBirthSuffix[] = ".new";
constexpr time_t kBirthGraceSeconds = 60;

UniqueFd lock_exclusively(int fd, const std::string& path) {
    UniqueFd owned(fd);
    while (::flock(owned.get(), LOCK_EX | LOCK_NB) < 0) {
        if (errno == EINTR) continue;
        throw_errno("lock", path);
    }
    return owned;
}

void rename_into_place(const std::string& from, const std::string& to) {
    if (::rename(from.c_str(), to.c_str()) < 0) {
        const int saved = errno;
        remove_tree(from);
        throw_system_error(saved, "rename", from);
    }
}

bool ends_with(const std::string& name, const char* suffix) {
    const std::string s(suffix);
    return name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
}

}  // namespace

OwnedTemp OwnedTemp::make_directory(const std::string& path, mode_t mode) {
    const std::string birth = path + kBirthSuffix;
    if (::mkdir(birth.c_str(), mode) < 0) throw_errno("mkdir", birth);
    int fd = ::open(birth.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        const int saved = errno;
        ::rmdir(birth.c_str());
        throw_system_error(saved, "open", birth);
    }
    UniqueFd locked = lock_exclusively(fd, birth);
    rename_into_place(birth, path);
    return {std::move(locked), path};
}

OwnedTemp OwnedTemp::make_file(const std::string& path, mode_t mode) {
    const std::string birth = path + kBirthSuffix;
    int fd = ::open(birth.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) throw_errno("create", birth);
    UniqueFd locked = lock_exclusively(fd, birth);
    rename_into_place(birth, path);
    return {std::move(locked), path};
}

OwnedTemp OwnedTemp::adopt(const std::string& existing, const std::string& path) {
    int fd = ::open(existing.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_errno("open", existing);
    UniqueFd locked = lock_exclusively(fd, existing);
    if (::rename(existing.c_str(), path.c_str()) < 0) throw_errno("rename", existing);
    return {std::move(locked), path};
}

size_t remove_orphaned_temps(const std::string& dir,
                             const std::function<bool(const std::string& name)>& is_temporary) {
    size_t removed = 0;
    try {
        DIR* d = ::opendir(dir.c_str());
        if (!d) return 0;
        std::vector<std::string> names;
        while (dirent* e = ::readdir(d)) {
            std::string name = e->d_name;
            if (name != "." && name != ".." && is_temporary(name)) names.push_back(std::move(name));
        }
        ::closedir(d);
        const time_t now = ::time(nullptr);
        for (const auto& name : names) {
            const std::string path = dir + "/" + name;
            int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
            if (fd < 0) continue;  // gone meanwhile
            UniqueFd held(fd);
            if (ends_with(name, kBirthSuffix)) {
                // Between its creation and its lock: a moment, unless its maker died there.
                struct stat st {};
                if (::fstat(fd, &st) != 0 || now - st.st_mtime < kBirthGraceSeconds) continue;
            }
            if (::flock(fd, LOCK_EX | LOCK_NB) != 0) continue;  // its maker lives
            try {
                remove_tree(path);
                ++removed;
            } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): next time
            }
        }
    } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): next time
    }
    return removed;
}

}  // namespace berth
