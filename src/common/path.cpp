#include "common/path.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <optional>
#include <vector>

#include "common/error.hpp"

namespace berth {

std::string clean_path(std::string_view path) {
    if (path.empty()) return ".";
    const bool absolute = path[0] == '/';
    std::vector<std::string_view> parts;
    size_t i = 0;
    while (i < path.size()) {
        size_t j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        std::string_view part = path.substr(i, j - i);
        i = j + 1;
        if (part.empty() || part == ".") continue;
        if (part == "..") {
            if (!parts.empty() && parts.back() != "..") {
                parts.pop_back();
            } else if (!absolute) {
                parts.push_back(part);
            }
            continue;
        }
        parts.push_back(part);
    }
    std::string out = absolute ? "/" : "";
    for (size_t k = 0; k < parts.size(); ++k) {
        if (k) out += '/';
        out += parts[k];
    }
    if (out.empty()) out = ".";
    return out;
}

std::string join_path(std::string_view base, std::string_view relative) {
    if (base.empty()) return clean_path(relative);
    std::string joined(base);
    joined += '/';
    joined += relative;
    return clean_path(joined);
}

std::string parent_path(std::string_view path) {
    std::string cleaned = clean_path(path);
    size_t slash = cleaned.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return cleaned.substr(0, slash);
}

std::string base_name(std::string_view path) {
    std::string cleaned = clean_path(path);
    size_t slash = cleaned.rfind('/');
    return slash == std::string::npos ? cleaned : cleaned.substr(slash + 1);
}

std::string own_directory() {
    char buffer[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
    if (n <= 0) return {};
    return parent_path(std::string_view(buffer, static_cast<size_t>(n)));
}

static int openat2_in_root(int root_fd, std::string_view path, int flags, mode_t mode) {
    open_how how{};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    std::string relative = clean_path(path);
    if (relative == "/") relative = ".";
    int fd;
    do {
        fd = static_cast<int>(::syscall(SYS_openat2, root_fd, relative.c_str(), &how, sizeof how));
    } while (fd < 0 && (errno == EINTR || errno == EAGAIN));
    return fd;
}

UniqueFd open_in_root(int root_fd, std::string_view path, int flags, mode_t mode) {
    int fd = openat2_in_root(root_fd, path, flags, mode);
    if (fd < 0) throw_errno("open", path);
    return UniqueFd(fd);
}

UniqueFd try_open_in_root(int root_fd, std::string_view path, int flags, mode_t mode) {
    int fd = openat2_in_root(root_fd, path, flags, mode);
    if (fd < 0 && errno != ENOENT) throw_errno("open", path);
    return UniqueFd(fd);
}

namespace {

// A dangling symlink at `prefix` (inside the root): where it would lead, as a root-relative
// path, so the directories it names can be created inside the root.
std::optional<std::string> dangling_link_target(int parent_fd, const std::string& name,
                                                const std::string& prefix) {
    char buf[4096];
    ssize_t n = ::readlinkat(parent_fd, name.c_str(), buf, sizeof buf - 1);
    if (n < 0) return std::nullopt;
    std::string target(buf, static_cast<size_t>(n));
    if (is_absolute_path(target)) return clean_path(target);
    return clean_path(parent_path(prefix) + "/" + target);
}

UniqueFd mkdir_all_in_root_depth(int root_fd, std::string_view path, mode_t mode, int depth);

}  // namespace

UniqueFd mkdir_all_in_root(int root_fd, std::string_view path, mode_t mode) {
    return mkdir_all_in_root_depth(root_fd, path, mode, 0);
}

namespace {

UniqueFd mkdir_all_in_root_depth(int root_fd, std::string_view path, mode_t mode, int depth) {
    if (depth > 40) throw_system_error(ELOOP, "mkdir", path);
    std::string cleaned = clean_path(std::string("/") + std::string(path));
    // Usually it is there already: one lookup instead of one per component.
    if (int fd = openat2_in_root(root_fd, cleaned, O_PATH | O_DIRECTORY, 0); fd >= 0)
        return UniqueFd(fd);
    UniqueFd current = open_in_root(root_fd, "/", O_PATH | O_DIRECTORY);
    if (cleaned == "/") return current;
    std::string prefix;
    size_t i = 1;
    while (i <= cleaned.size()) {
        size_t j = cleaned.find('/', i);
        if (j == std::string::npos) j = cleaned.size();
        std::string name = cleaned.substr(i, j - i);
        prefix += "/" + name;
        i = j + 1;
        int fd = openat2_in_root(root_fd, prefix, O_PATH | O_DIRECTORY, 0);
        if (fd < 0 && errno == ENOENT) {
            // Create in the already-resolved parent, then resolve again: a symlink planted
            // between the two calls is still resolved inside the root.
            if (::mkdirat(current.get(), name.c_str(), mode) < 0) {
                if (errno != EEXIST) throw_errno("mkdir", prefix);
                // A symlink to something not there yet: make its target, inside the root.
                if (auto target = dangling_link_target(current.get(), name, prefix))
                    mkdir_all_in_root_depth(root_fd, *target, mode, depth + 1);
            }
            fd = openat2_in_root(root_fd, prefix, O_PATH | O_DIRECTORY, 0);
        }
        if (fd < 0) throw_errno("open", prefix);
        current.reset(fd);
    }
    return current;
}

}  // namespace

UniqueFd ensure_file_in_root(int root_fd, std::string_view path, mode_t mode) {
    std::string cleaned = clean_path(std::string("/") + std::string(path));
    int fd = openat2_in_root(root_fd, cleaned, O_PATH, 0);
    if (fd >= 0) return UniqueFd(fd);
    if (errno != ENOENT) throw_errno("open", cleaned);
    UniqueFd parent = mkdir_all_in_root(root_fd, parent_path(cleaned));
    std::string name = base_name(cleaned);
    int created =
        ::openat(parent.get(), name.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode);
    if (created < 0 && errno != EEXIST && errno != ELOOP) throw_errno("create", cleaned);
    if (created >= 0) ::close(created);
    return open_in_root(root_fd, cleaned, O_PATH);
}

std::string fd_path(int fd) {
    return "/proc/self/fd/" + std::to_string(fd);
}

}  // namespace berth
