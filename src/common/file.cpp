#include "common/file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>  // renameat2

#include "common/error.hpp"

namespace berth {

UniqueFd open_file(const std::string& path, int flags, mode_t mode) {
    return open_file_at(AT_FDCWD, path, flags, mode);
}

UniqueFd open_file_at(int dirfd, const std::string& path, int flags, mode_t mode) {
    int fd;
    do {
        fd = ::openat(dirfd, path.c_str(), flags | O_CLOEXEC, mode);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) throw_errno("open", path);
    return UniqueFd(fd);
}

std::string read_fd(int fd, std::string_view name) {
    std::string out;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("read", name);
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

std::string read_file(const std::string& path) {
    UniqueFd fd = open_file(path, O_RDONLY);
    return read_fd(fd.get(), path);
}

namespace {

std::string size_text(uint64_t bytes) {
    if (bytes >= (1ULL << 20) && bytes % (1ULL << 20) == 0)
        return std::to_string(bytes >> 20) + " MiB";
    return std::to_string(bytes) + " bytes";
}

[[noreturn]] void throw_too_large(std::string_view name, const std::string& size, size_t limit) {
    throw Error(std::string(name) + ": " + size + ", more than the limit of " + size_text(limit));
}

}  // namespace

std::string read_fd_limited(int fd, std::string_view name, size_t limit) {
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        if (static_cast<uint64_t>(st.st_size) > limit)
            throw_too_large(name, std::to_string(st.st_size) + " bytes", limit);
    }
    std::string out;
    if (S_ISREG(st.st_mode)) out.reserve(static_cast<size_t>(st.st_size));
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("read", name);
        }
        if (n == 0) break;
        if (out.size() + static_cast<size_t>(n) > limit)
            throw_too_large(name, "more than " + size_text(limit), limit);
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

std::string read_file_limited(const std::string& path, size_t limit) {
    UniqueFd fd = open_file(path, O_RDONLY);
    return read_fd_limited(fd.get(), path, limit);
}

std::optional<std::string> read_file_if_exists(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return std::nullopt;
        throw_errno("open", path);
    }
    UniqueFd owned(fd);
    return read_fd(owned.get(), path);
}

void write_all(int fd, std::string_view data, std::string_view name) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("write", name);
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
}

bool write_to_pipe(int fd, std::string_view data) {
    sigset_t pipe_only, old;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
    bool written = true;
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            written = false;
            break;
        }
        done += static_cast<size_t>(n);
    }
    // The SIGPIPE of an EPIPE is pending on this thread: taken here, before the unblock.
    if (!written && errno == EPIPE) {
        timespec now{};
        while (::sigtimedwait(&pipe_only, nullptr, &now) < 0 && errno == EINTR) {
        }
    }
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return written;
}

void write_existing_file(const std::string& path, std::string_view data) {
    UniqueFd fd = open_file(path, O_WRONLY);
    // One write(2): kernel interfaces parse each write as a whole value.
    ssize_t n;
    do {
        n = ::write(fd.get(), data.data(), data.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw_errno("write", path);
}

void write_file(const std::string& path, std::string_view data, mode_t mode) {
    UniqueFd fd = open_file(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    write_all(fd.get(), data, path);
}

void write_file_atomic(const std::string& path, std::string_view data, mode_t mode) {
    std::string temp = path + ".tmp." + std::to_string(::getpid());
    try {
        UniqueFd fd = open_file(temp, O_WRONLY | O_CREAT | O_TRUNC, mode);
        write_all(fd.get(), data, temp);
        if (::fsync(fd.get()) < 0) throw_errno("fsync", temp);
    } catch (...) {
        ::unlink(temp.c_str());
        throw;
    }
    if (::rename(temp.c_str(), path.c_str()) < 0) {
        int saved = errno;
        ::unlink(temp.c_str());
        throw_system_error(saved, "rename", temp);
    }
}

void replace_file(const std::string& path, std::string_view data, mode_t mode) {
    std::string temp = path + ".tmp." + std::to_string(::getpid());
    try {
        write_file(temp, data, mode);
    } catch (...) {
        ::unlink(temp.c_str());
        throw;
    }
    if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, path.c_str(), RENAME_EXCHANGE) == 0) {
        ::unlink(temp.c_str());  // the old content now
        return;
    }
    // ENOENT: no old file yet; EINVAL: a filesystem without exchange.
    if ((errno == ENOENT || errno == EINVAL) && ::rename(temp.c_str(), path.c_str()) == 0) return;
    int saved = errno;
    ::unlink(temp.c_str());
    throw_system_error(saved, "rename", temp);
}

std::vector<std::string> list_directory(int dirfd, const std::string& what) {
    int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw_errno("open", what);
    DIR* dir = ::fdopendir(fd);
    if (!dir) {
        ::close(fd);
        throw_errno("opendir", what);
    }
    std::vector<std::string> names;
    while (dirent* entry = ::readdir(dir)) {
        std::string name = entry->d_name;
        if (name != "." && name != "..") names.push_back(std::move(name));
    }
    ::closedir(dir);
    return names;
}

}  // namespace berth
