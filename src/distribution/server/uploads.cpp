#include "distribution/server/uploads.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/remove_tree.hpp"
#include "common/strings.hpp"
#include "distribution/server/api_error.hpp"
#include "distribution/server/names.hpp"

namespace berth::registry {
namespace {

constexpr size_t kInstanceDigits = 8;
constexpr char kOwnerPrefix[] = ".owner-";

std::string random_hex(size_t digits) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    while (out.size() < digits) {
        uint64_t v = rng();
        for (int i = 0; i < 16 && out.size() < digits; ++i, v >>= 4)
            out += kHex[v & 15];
    }
    return out;
}

// The instance of a session (or of a session being made, ".new-<id>"); "" for other names.
std::string instance_of(const std::string& name) {
    std::string id = name.starts_with(".new-") ? name.substr(5) : name;
    if (!is_valid_upload_id(id)) return {};
    return id.substr(0, kInstanceDigits);
}

ApiError unknown_upload(const std::string& id) {
    return ApiError(ErrorCode::blob_upload_unknown, "blob upload unknown: " + id);
}

int64_t file_size(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) < 0) throw_errno("fstat upload");
    return st.st_size;
}

std::string range_header(int64_t size) {
    return "0-" + std::to_string(size > 0 ? size - 1 : 0);
}

}  // namespace

UploadSink::UploadSink(UniqueFd fd, int64_t start, std::string path,
                       std::shared_ptr<SessionHash> hash)
    : fd_(std::move(fd)), start_(start), path_(std::move(path)), hash_(std::move(hash)) {
    if (hash_) {
        std::lock_guard lock(hash_->mutex);
        hashing_ = hash_->covered == start_;
    }
}

UploadSink::~UploadSink() {
    // An incomplete body is undone: the session stays at the size it had (and the running
    // digest, which saw the undone bytes, is no longer valid).
    if (!committed_ && fd_) {
        (void)::ftruncate(fd_.get(), start_);
        if (hash_ && written_ > 0) {
            std::lock_guard lock(hash_->mutex);
            hash_->covered = -1;
        }
    }
}

void UploadSink::write(const char* data, size_t size) {
    if (hashing_) {
        std::lock_guard lock(hash_->mutex);
        hash_->hasher.update(data, size);
        hash_->covered += static_cast<int64_t>(size);
    }
    while (size > 0) {
        const ssize_t n = ::pwrite(fd_.get(), data, size, start_ + written_);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("write upload", path_);
        }
        data += n;
        size -= static_cast<size_t>(n);
        written_ += n;
    }
    constexpr int64_t kWritebackStep = 8 * 1024 * 1024;
    if (written_ - synced_ >= kWritebackStep) {
        (void)::sync_file_range(fd_.get(), start_ + synced_, written_ - synced_,
                                SYNC_FILE_RANGE_WRITE);
        synced_ = written_;
    }
}

int64_t UploadSink::commit() {
    committed_ = true;
    ::futimens(fd_.get(), nullptr);  // the expiry counts from the last chunk
    return start_ + written_;
}

Uploads::Uploads(Storage& storage, std::chrono::seconds expiry)
    : storage_(storage), expiry_(expiry), instance_(random_hex(kInstanceDigits)) {
    owner_ = OwnedTemp::make_file(storage_.uploads_dir() + "/" + kOwnerPrefix + instance_, 0600);
}

Uploads::~Uploads() {
    // A graceful stop: our sessions are handed on to the next process.
    if (owner_) ::unlink(owner_.path().c_str());
}

std::string Uploads::dir(const std::string& id) const {
    return storage_.uploads_dir() + "/" + id;
}

void Uploads::check_owner(const std::string& repo, const std::string& id) const {
    if (!is_valid_upload_id(id)) throw unknown_upload(id);
    auto owner = read_file_if_exists(dir(id) + "/repository");
    if (!owner || *owner != repo) throw unknown_upload(id);
}

std::shared_ptr<SessionHash> Uploads::hash_of(const std::string& id) {
    std::lock_guard lock(hashes_mutex_);
    auto& hash = hashes_[id];
    if (!hash) {
        hash = std::make_shared<SessionHash>();
        hash->covered = -1;  // a session from before a restart: hashed at the end
    }
    return hash;
}

void Uploads::forget_hash(const std::string& id) {
    std::lock_guard lock(hashes_mutex_);
    hashes_.erase(id);
}

std::string Uploads::start(const std::string& repo) {
    std::string id = instance_ + random_hex(32 - kInstanceDigits);
    // Made under a temp name and renamed: a session either exists whole or not at all.
    const std::string temp = storage_.uploads_dir() + "/.new-" + id;
    make_directories(temp);
    write_file(temp + "/repository", repo);
    UniqueFd data = open_file(temp + "/data", O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (::rename(temp.c_str(), dir(id).c_str()) < 0) throw_errno("rename", temp);
    std::lock_guard lock(hashes_mutex_);
    hashes_[id] = std::make_shared<SessionHash>();
    return id;
}

int64_t Uploads::size(const std::string& repo, const std::string& id) const {
    check_owner(repo, id);
    struct stat st {};
    if (::stat((dir(id) + "/data").c_str(), &st) < 0) throw unknown_upload(id);
    return st.st_size;
}

std::unique_ptr<UploadSink> Uploads::append(const std::string& repo, const std::string& id,
                                            const std::string& content_range,
                                            std::optional<uint64_t> content_length) {
    check_owner(repo, id);
    const std::string path = dir(id) + "/data";
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd) throw unknown_upload(id);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) < 0)
        throw ApiError(ErrorCode::blob_upload_invalid,
                       "another request is writing to upload " + id);
    const int64_t current = file_size(fd.get());
    if (!content_range.empty()) {
        const std::string_view range = trim(content_range);
        const size_t dash = range.find('-');
        auto first = parse_int64(range.substr(0, dash));
        auto last =
            dash == std::string_view::npos ? std::nullopt : parse_int64(range.substr(dash + 1));
        if (!first || !last || *last < *first) {
            ApiError error(ErrorCode::range_invalid, "malformed Content-Range: " + content_range);
            error.headers.emplace_back("Range", range_header(current));
            throw error;
        }
        if (*first != current) {
            ApiError error(ErrorCode::range_invalid, "chunk out of order: starts at " +
                                                         std::to_string(*first) + ", upload has " +
                                                         std::to_string(current) + " bytes");
            error.headers.emplace_back("Range", range_header(current));
            error.headers.emplace_back("Location", "/v2/" + repo + "/blobs/uploads/" + id);
            throw error;
        }
        if (content_length && static_cast<int64_t>(*content_length) != *last - *first + 1) {
            ApiError error(ErrorCode::range_invalid, "Content-Range and Content-Length disagree");
            error.headers.emplace_back("Range", range_header(current));
            throw error;
        }
    }
    return std::make_unique<UploadSink>(std::move(fd), current, path, hash_of(id));
}

void Uploads::finish(const std::string& repo, const std::string& id, const Digest& expected) {
    check_owner(repo, id);
    const std::string session = dir(id);
    const std::string path = session + "/data";
    struct Cleanup {
        std::string dir;
        Uploads* uploads;
        std::string id;
        ~Cleanup() {
            if (!dir.empty()) uploads->forget_hash(id);
            try {
                remove_tree(dir);
            } catch (...) {
            }
        }
    } cleanup{session, this, id};
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw unknown_upload(id);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) {
        cleanup.dir.clear();
        throw ApiError(ErrorCode::blob_upload_invalid,
                       "another request is writing to upload " + id);
    }
    std::optional<Digest> running;
    if (expected.algorithm() == DigestAlgorithm::sha256) {
        auto hash = hash_of(id);
        std::lock_guard lock(hash->mutex);
        if (hash->covered == file_size(fd.get())) running = hash->hasher.finish();
    }
    Hasher hasher(expected.algorithm());
    std::vector<char> buffer(running ? 0 : 1 << 20);
    while (!running) {
        const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("read upload", path);
        }
        if (n == 0) break;
        hasher.update(buffer.data(), static_cast<size_t>(n));
    }
    const Digest actual = running ? *running : hasher.finish();
    if (actual != expected)
        throw ApiError(ErrorCode::digest_invalid, "digest mismatch: upload has " + actual.str() +
                                                      ", client said " + expected.str());
    if (::fsync(fd.get()) < 0) throw_errno("fsync", path);
    storage_.adopt_blob_file(path, expected);
    storage_.link_blob(repo, expected);
}

void Uploads::cancel(const std::string& repo, const std::string& id) {
    check_owner(repo, id);
    remove_tree(dir(id));
    forget_hash(id);
}

size_t Uploads::remove_expired() {
    size_t removed = 0;
    DIR* uploads = ::opendir(storage_.uploads_dir().c_str());
    if (!uploads) return 0;
    std::vector<std::string> names;
    while (dirent* entry = ::readdir(uploads)) {
        std::string name = entry->d_name;
        if (name != "." && name != "..") names.push_back(std::move(name));
    }
    ::closedir(uploads);
    // Owners that crashed: their owner file is there and nobody holds its lock (we hold it
    // while we remove their sessions, then remove it).
    std::map<std::string, UniqueFd> crashed;
    std::set<std::string> running;  // (we are one of them)
    for (const auto& name : names) {
        if (!name.starts_with(kOwnerPrefix)) continue;
        const std::string instance = name.substr(sizeof kOwnerPrefix - 1);
        UniqueFd fd(::open(dir(name).c_str(), O_RDONLY | O_CLOEXEC));
        if (fd && ::flock(fd.get(), LOCK_EX | LOCK_NB) == 0)
            crashed.emplace(instance, std::move(fd));
        else if (fd)
            running.insert(instance);
    }
    const auto now = std::chrono::system_clock::now();
    for (const auto& name : names) {
        if (name.starts_with(kOwnerPrefix)) continue;
        const std::string session = dir(name);
        if (crashed.contains(instance_of(name))) {
            try {
                remove_tree(session);
                forget_hash(name);
                ++removed;
            } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): next sweep
            }
            continue;
        }
        struct stat st {};
        const bool has_data = ::stat((session + "/data").c_str(), &st) == 0;
        if (!has_data && running.contains(instance_of(name))) continue;  // being made now
        // A session without its data file is the remains of a crash: stale at once.
        const auto touched =
            std::chrono::system_clock::time_point(std::chrono::seconds(st.st_mtim.tv_sec));
        if (has_data && now - touched < expiry_) continue;
        try {
            remove_tree(session);
            forget_hash(name);
            ++removed;
        } catch (const std::exception&) {
        }
    }
    for (const auto& [instance, lock] : crashed)
        ::unlink(dir(kOwnerPrefix + instance).c_str());
    return removed;
}

size_t Uploads::count() const {
    size_t n = 0;
    DIR* uploads = ::opendir(storage_.uploads_dir().c_str());
    if (!uploads) return 0;
    while (dirent* entry = ::readdir(uploads))
        if (entry->d_name[0] != '.') ++n;
    ::closedir(uploads);
    return n;
}

}  // namespace berth::registry
