#include "runtime/cgroup/files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"

namespace berth::runtime::cgroup {
namespace {

struct DirCloser {
    void operator()(DIR* d) const noexcept { ::closedir(d); }
};

std::string join_file(const std::string& dir, std::string_view file) {
    std::string path;
    path.reserve(dir.size() + 1 + file.size());
    path += dir;
    path += '/';
    path += file;
    return path;
}

// 0 on success, else errno.
int try_write(const std::string& path, std::string_view value) {
    int fd;
    do {
        fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return errno;
    UniqueFd owned(fd);
    ssize_t n;
    do {
        n = ::write(fd, value.data(), value.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) return errno;
    return 0;
}

[[noreturn]] void refused(int code, const std::string& path, std::string_view value) {
    std::string message = "cannot write \"";
    for (char c : value)
        message += c == '\n' ? ' ' : c;
    message += "\" to " + path + ": " + std::strerror(code);
    throw SystemError(code, message);
}

}  // namespace

void cg_write(const std::string& dir, std::string_view file, std::string_view value) {
    std::string path = join_file(dir, file);
    if (int code = try_write(path, value); code != 0) refused(code, path, value);
}

bool cg_write_if_exists(const std::string& dir, std::string_view file, std::string_view value) {
    std::string path = join_file(dir, file);
    int code = try_write(path, value);
    if (code == ENOENT) return false;
    if (code != 0) refused(code, path, value);
    return true;
}

CgroupFile::CgroupFile(const std::string& dir, std::string_view file)
    : path_(join_file(dir, file)) {
    int fd;
    do {
        fd = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) refused(errno, path_, "");
    fd_.reset(fd);
}

void CgroupFile::write(std::string_view value) {
    ssize_t n;
    do {
        n = ::write(fd_.get(), value.data(), value.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) refused(errno, path_, value);
}

std::string cg_read(const std::string& dir, std::string_view file) {
    return read_file(join_file(dir, file));
}

std::optional<std::string> cg_read_if_exists(const std::string& dir, std::string_view file) {
    return read_file_if_exists(join_file(dir, file));
}

bool cg_exists(const std::string& dir, std::string_view file) {
    return ::access(join_file(dir, file).c_str(), F_OK) == 0;
}

uint64_t cg_read_uint(const std::string& dir, std::string_view file) {
    auto text = cg_read_if_exists(dir, file);
    if (!text) return 0;
    return parse_value(*text).value_or(0);
}

std::optional<uint64_t> parse_value(std::string_view text) {
    text = trim(text);
    if (text == "max") return std::numeric_limits<uint64_t>::max();
    return parse_uint64(text);
}

std::map<std::string, uint64_t> parse_flat_keyed(std::string_view text) {
    std::map<std::string, uint64_t> out;
    for (const auto& line : split(text, '\n')) {
        auto space = line.find(' ');
        if (space == std::string::npos) continue;
        auto value = parse_value(std::string_view(line).substr(space + 1));
        if (!value) continue;
        out.emplace(line.substr(0, space), *value);
    }
    return out;
}

std::optional<uint64_t> keyed_value(std::string_view text, std::string_view key) {
    for (const auto& line : split(text, '\n')) {
        auto space = line.find(' ');
        if (space == std::string::npos || std::string_view(line).substr(0, space) != key) continue;
        return parse_value(std::string_view(line).substr(space + 1));
    }
    return std::nullopt;
}

std::vector<uint64_t> parse_uint_list(std::string_view text) {
    std::vector<uint64_t> out;
    size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t'))
            ++i;
        size_t start = i;
        while (i < text.size() && text[i] != ' ' && text[i] != '\n' && text[i] != '\t')
            ++i;
        if (i == start) break;
        auto v = parse_uint64(text.substr(start, i - start));
        if (!v) return {};
        out.push_back(*v);
    }
    return out;
}

std::vector<uint16_t> parse_cpu_list(std::string_view text) {
    std::vector<uint16_t> out;
    text = trim(text);
    if (text.empty()) return out;
    for (const auto& range : split(text, ',')) {
        auto bounds = split(range, '-');
        if (bounds.empty() || bounds.size() > 2) return {};
        auto lo = parse_uint64(trim(bounds[0]));
        auto hi = bounds.size() == 2 ? parse_uint64(trim(bounds[1])) : lo;
        if (!lo || !hi || *lo > *hi || *hi > std::numeric_limits<uint16_t>::max()) return {};
        for (uint64_t v = *lo; v <= *hi; ++v)
            out.push_back(static_cast<uint16_t>(v));
    }
    return out;
}

std::string concat(std::initializer_list<std::string_view> pieces) {
    size_t size = 0;
    for (auto p : pieces)
        size += p.size();
    std::string out;
    out.reserve(size);
    for (auto p : pieces)
        out += p;
    return out;
}

std::vector<std::string> list_directory(const std::string& dir, bool directories_only) {
    std::vector<std::string> names;
    std::unique_ptr<DIR, DirCloser> d(::opendir(dir.c_str()));
    if (!d) return names;
    while (const dirent* entry = ::readdir(d.get())) {
        std::string_view name = entry->d_name;
        if (name == "." || name == "..") continue;
        if (directories_only && entry->d_type != DT_DIR) continue;
        names.emplace_back(name);
    }
    return names;
}

std::vector<pid_t> parse_pids(std::string_view text) {
    std::vector<pid_t> out;
    for (const auto& line : split(text, '\n')) {
        auto v = parse_uint64(trim(line));
        if (v && *v > 0 && *v <= static_cast<uint64_t>(std::numeric_limits<pid_t>::max()))
            out.push_back(static_cast<pid_t>(*v));
    }
    return out;
}

std::vector<pid_t> read_pids_recursive(const std::string& dir) {
    auto text = cg_read_if_exists(dir, "cgroup.procs");
    if (!text) return {};
    std::vector<pid_t> out = parse_pids(*text);
    for (const auto& child : list_directory(dir, true)) {
        std::string sub = dir;
        sub += '/';
        sub += child;
        auto more = read_pids_recursive(sub);
        out.insert(out.end(), more.begin(), more.end());
    }
    return out;
}

}  // namespace berth::runtime::cgroup
