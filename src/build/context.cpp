#include "build/context.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <sstream>

#include "build/archive.hpp"
#include "common/error.hpp"
#include "common/file.hpp"
#include "common/path.hpp"
#include "distribution/client/http.hpp"

namespace berth::build {
namespace {

std::string escape_path(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '%' || c == '\n' || c == ' ') {
            char buffer[4];
            std::snprintf(buffer, sizeof buffer, "%%%02X", static_cast<unsigned char>(c));
            out += buffer;
        } else {
            out += c;
        }
    }
    return out;
}

std::string unescape_path(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

bool is_regular(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string real_directory(const std::string& dir, const std::string& what) {
    char resolved[PATH_MAX];
    if (!::realpath(dir.c_str(), resolved)) throw_errno(what, dir);
    struct stat st {};
    if (::stat(resolved, &st) < 0 || !S_ISDIR(st.st_mode))
        throw BuildError(what + " " + dir + ": not a directory");
    return resolved;
}

// Copies fd (a pipe, say) into path, so that it can be looked at twice.
void save_stream(int fd, const std::string& path) {
    UniqueFd out = open_file(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char buffer[65536];
    for (;;) {
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("read the build context from stdin");
        }
        if (n == 0) break;
        write_all(out.get(), std::string_view(buffer, static_cast<size_t>(n)), path);
    }
}

}  // namespace

ContentHasher::ContentHasher(std::string cache_file) : file_(std::move(cache_file)) {
    if (file_.empty()) return;
    auto text = read_file_if_exists(file_);
    if (!text) return;
    std::istringstream in(*text);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        Entry e;
        std::string path;
        if (fields >> e.ino >> e.size >> e.mtime >> e.ctime >> e.digest >> path &&
            e.digest.size() == 64)
            entries_[unescape_path(path)] = e;
    }
}

Digest ContentHasher::file_digest(int dir_fd, const std::string& name, const std::string& rel,
                                  const struct stat& st) {
    int64_t mtime = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    int64_t ctime = st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec;
    {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(rel);
        if (it != entries_.end() && it->second.ino == st.st_ino && it->second.size == st.st_size &&
            it->second.mtime == mtime && it->second.ctime == ctime) {
            it->second.seen = true;
            return Digest::from_hex(DigestAlgorithm::sha256, it->second.digest);
        }
    }
    UniqueFd fd = name.empty()
                      ? UniqueFd(::open(fd_path(dir_fd).c_str(), O_RDONLY | O_CLOEXEC))
                      : UniqueFd(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throw_errno("open", rel);
    Hasher hasher;
    std::string buffer(256 * 1024, '\0');
    for (;;) {
        ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("read", rel);
        }
        if (n == 0) break;
        hasher.update(buffer.data(), static_cast<size_t>(n));
    }
    Digest d = hasher.finish();
    std::lock_guard lock(mutex_);
    entries_[rel] = {static_cast<uint64_t>(st.st_ino), st.st_size, mtime, ctime, d.hex(), true};
    changed_ = true;
    return d;
}

void ContentHasher::save() {
    std::lock_guard lock(mutex_);
    if (file_.empty() || !changed_) return;
    std::string out;
    for (const auto& [path, e] : entries_)
        out += std::to_string(e.ino) + " " + std::to_string(e.size) + " " +
               std::to_string(e.mtime) + " " + std::to_string(e.ctime) + " " + e.digest + " " +
               escape_path(path) + "\n";
    ::mkdir(parent_path(file_).c_str(), 0700);
    write_file_atomic(file_, out, 0600);
    changed_ = false;
}

BuildContext::BuildContext(const BuildOptions& options, const std::string& scratch,
                           const std::string& state_dir, distribution::HttpClient* http) {
    std::string dir;
    std::string tarball;
    if (!options.context_dir.empty()) {
        dir = real_directory(options.context_dir, "context");
        hasher_ = std::make_unique<ContentHasher>(state_dir + "/context/" +
                                                  digest_of(dir).hex().substr(0, 32));
    } else if (options.context_tar_fd >= 0) {
        tarball = scratch + "/context.input";
        save_stream(options.context_tar_fd, tarball);
    } else if (!options.context_url.empty()) {
        if (!http) throw BuildError("context " + options.context_url + ": no HTTP client");
        tarball = scratch + "/context.input";
        UniqueFd out = open_file(tarball, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        distribution::HttpRequest request;
        request.url = options.context_url;
        request.on_data = [&](long, const char* data, size_t size) {
            write_all(out.get(), std::string_view(data, size), tarball);
            return true;
        };
        distribution::HttpResponse response = http->perform(request);
        if (response.status != 200)
            throw BuildError("context " + options.context_url + ": HTTP status " +
                             std::to_string(response.status));
    }
    if (!tarball.empty()) {
        UniqueFd in = open_file(tarball, O_RDONLY);
        if (is_archive(in.get())) {
            dir = scratch + "/context";
            if (::mkdir(dir.c_str(), 0755) < 0) throw_errno("mkdir", dir);
            UniqueFd target = open_file(dir, O_RDONLY | O_DIRECTORY);
            unpack_tarball(in.get(), target.get(), "the build context");
        } else if (!options.containerfile_text) {
            // Not a tarball: the Containerfile itself, with no context (docker build - <file).
            containerfile_text_ = read_fd(in.get(), "stdin");
            containerfile_name_ = "Containerfile";
        }
        ::unlink(tarball.c_str());
    }
    if (!dir.empty()) root_ = open_file(dir, O_PATH | O_DIRECTORY);
    if (!hasher_) hasher_ = std::make_unique<ContentHasher>("");
    if (containerfile_text_.empty()) load_containerfile(options, dir);
    if (!dir.empty()) load_ignore(dir);
}

void BuildContext::load_containerfile(const BuildOptions& options, const std::string& dir) {
    if (options.containerfile_text) {
        containerfile_text_ = *options.containerfile_text;
        containerfile_name_ = options.containerfile.empty() || options.containerfile == "-"
                                  ? "Containerfile"
                                  : base_name(options.containerfile);
        return;
    }
    std::string path;
    if (!options.containerfile.empty()) {
        // As docker's client: relative to the working directory, else to the context.
        if (is_regular(options.containerfile)) {
            path = options.containerfile;
        } else if (!dir.empty() && !is_absolute_path(options.containerfile)) {
            UniqueFd fd = try_open_in_root(root_.get(), options.containerfile, O_RDONLY);
            if (fd) {
                containerfile_text_ = read_fd(fd.get(), options.containerfile);
                containerfile_name_ = base_name(options.containerfile);
                containerfile_path_ = dir + "/" + clean_path(options.containerfile);
                return;
            }
        }
        if (path.empty())
            throw BuildError("Containerfile " + options.containerfile + ": no such file");
    } else {
        if (dir.empty()) throw BuildError("no Containerfile: give -f FILE or a context");
        for (const char* name : {"Containerfile", "Dockerfile"})
            if (is_regular(dir + "/" + name)) {
                path = dir + "/" + name;
                break;
            }
        if (path.empty())
            throw BuildError("no Containerfile or Dockerfile in the context " + dir +
                             " (name one with -f)");
    }
    containerfile_text_ = read_file(path);
    containerfile_name_ = base_name(path);
    containerfile_path_ = path;
}

void BuildContext::load_ignore(const std::string& dir) {
    std::vector<std::string> candidates;
    if (!containerfile_path_.empty()) candidates.push_back(containerfile_path_ + ".dockerignore");
    candidates.push_back(dir + "/.containerignore");
    candidates.push_back(dir + "/.dockerignore");
    for (const auto& candidate : candidates) {
        auto text = read_file_if_exists(candidate);
        if (!text) continue;
        try {
            ignore_ = IgnoreMatcher(read_ignore_patterns(*text));
        } catch (const Error& e) {
            throw BuildError(candidate + ": " + e.what());
        }
        ignore_file_ = candidate;
        return;
    }
}

}  // namespace berth::build
