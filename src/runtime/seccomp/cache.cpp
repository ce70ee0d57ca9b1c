#include "runtime/seccomp/cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/log.hpp"
#include "common/unique_fd.hpp"

namespace berth::runtime::seccomp::cache {
namespace {

// File layout: magic, the key's size (8 bytes, native order), the key, the program, and an
// FNV-1a hash of all that (8 bytes) against damage.
constexpr std::string_view kMagic = "berth-seccomp-bpf-1\n";

uint64_t fnv1a(std::string_view data) {
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (unsigned char c : data) {
        hash ^= c;
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

std::string entry_path(const std::string& dir, const std::string& key) {
    char name[32];
    std::snprintf(name, sizeof name, "%016llx.bpf", static_cast<unsigned long long>(fnv1a(key)));
    return dir + "/" + name;
}

std::string entry_header(const std::string& key) {
    std::string header(kMagic);
    uint64_t size = key.size();
    char bytes[sizeof size];
    std::memcpy(bytes, &size, sizeof size);
    header.append(bytes, sizeof size);
    header += key;
    return header;
}

// Only what the effective user alone can have written is trusted.
bool private_to_us(const struct stat& st) {
    return st.st_uid == ::geteuid() && (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

bool usable_dir(const std::string& dir, bool create) {
    if (create && ::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        log::debug("seccomp cache " + dir + ": mkdir: " + std::strerror(errno));
        return false;
    }
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0) {
        if (errno != ENOENT) log::debug("seccomp cache " + dir + ": " + std::strerror(errno));
        return false;
    }
    if (!S_ISDIR(st.st_mode) || !private_to_us(st)) {
        log::debug("seccomp cache " + dir +
                   ": not a directory of the effective user that only it can write; not used");
        return false;
    }
    return true;
}

}  // namespace

std::optional<std::vector<sock_filter>> lookup(const std::string& dir, const std::string& key) {
    if (!usable_dir(dir, false)) return std::nullopt;
    const std::string path = entry_path(dir, key);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) {
        if (errno != ENOENT) log::debug("seccomp cache " + path + ": " + std::strerror(errno));
        return std::nullopt;
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || !private_to_us(st)) {
        log::debug("seccomp cache " + path + ": not a private regular file; not used");
        return std::nullopt;
    }
    std::string data;
    try {
        data = read_fd(fd.get(), path);
    } catch (const Error& e) {
        log::debug(std::string("seccomp cache: ") + e.what());
        return std::nullopt;
    }
    const std::string header = entry_header(key);
    uint64_t sum = 0;
    if (data.size() <= header.size() + sizeof sum || data.compare(0, header.size(), header) != 0)
        return std::nullopt;  // another key with the same hash, or a damaged entry
    const size_t bytes = data.size() - header.size() - sizeof sum;
    std::memcpy(&sum, data.data() + data.size() - sizeof sum, sizeof sum);
    if (bytes % sizeof(sock_filter) != 0 || bytes / sizeof(sock_filter) > BPF_MAXINSNS ||
        sum != fnv1a(std::string_view(data).substr(0, data.size() - sizeof sum))) {
        log::debug("seccomp cache " + path + ": damaged entry");
        return std::nullopt;
    }
    std::vector<sock_filter> program(bytes / sizeof(sock_filter));
    std::memcpy(program.data(), data.data() + header.size(), bytes);
    return program;
}

void store(const std::string& dir, const std::string& key, std::span<const sock_filter> program) {
    if (!usable_dir(dir, true)) return;
    std::string data = entry_header(key);
    const size_t offset = data.size();
    data.resize(offset + program.size_bytes());
    std::memcpy(data.data() + offset, program.data(), program.size_bytes());
    const uint64_t sum = fnv1a(data);
    char bytes[sizeof sum];
    std::memcpy(bytes, &sum, sizeof sum);
    data.append(bytes, sizeof sum);
    try {
        write_file_atomic(entry_path(dir, key), data, 0600);
    } catch (const Error& e) {
        log::debug(std::string("seccomp cache: ") + e.what());
    }
}

}  // namespace berth::runtime::seccomp::cache
