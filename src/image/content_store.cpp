#include "image/content_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/owned_temp.hpp"
#include "common/path.hpp"

namespace berth::image {
namespace {

void make_dir(const std::string& path) {
    if (::mkdir(path.c_str(), 0700) < 0 && errno != EEXIST) throw_errno("mkdir", path);
}

void fsync_dir(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

std::string random_suffix() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    uint64_t v = rng();
    for (int i = 0; i < 12; ++i, v >>= 4)
        out += kHex[v & 15];
    return out;
}

}  // namespace

FileLock::FileLock(const std::string& path, bool shared) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) throw_errno("open lock", path);
    fd_.reset(fd);
    while (::flock(fd_.get(), shared ? LOCK_SH : LOCK_EX) < 0) {
        if (errno != EINTR) throw_errno("lock", path);
    }
}

ContentStore::ContentStore(std::string root) : root_(std::move(root)) {
    make_dir(root_);
    make_dir(root_ + "/blobs");
    make_dir(root_ + "/blobs/sha256");
    make_dir(root_ + "/blobs/sha512");
    make_dir(root_ + "/blobs/ingest");
    make_dir(root_ + "/locks");
}

std::string ContentStore::path(const Digest& digest) const {
    return root_ + "/blobs/" + std::string(digest.algorithm_name()) + "/" + digest.hex();
}

bool ContentStore::has(const Digest& digest) const {
    return ::access(path(digest).c_str(), F_OK) == 0;
}

std::optional<int64_t> ContentStore::size(const Digest& digest) const {
    struct stat st {};
    if (::stat(path(digest).c_str(), &st) < 0) {
        if (errno == ENOENT) return std::nullopt;
        throw_errno("stat", path(digest));
    }
    return st.st_size;
}

UniqueFd ContentStore::open(const Digest& digest) const {
    int fd = ::open(path(digest).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) throw Error("blob " + digest.str() + " is not in the store");
        throw_errno("open blob", path(digest));
    }
    return UniqueFd(fd);
}

std::string ContentStore::read(const Digest& digest) const {
    UniqueFd fd = open(digest);
    std::string data = read_fd(fd.get(), path(digest));
    if (digest_of(data, digest.algorithm()) != digest)
        throw BlobVerificationError("blob " + digest.str() + " in the store is corrupt (" +
                                    path(digest) + " does not match its digest)");
    return data;
}

Digest ContentStore::put(std::string_view data, const std::optional<Digest>& expected) {
    std::string what = "blob " + (expected ? expected->str() : std::string("(new)"));
    BlobWriter w = writer(expected, static_cast<int64_t>(data.size()), what);
    w.write(data.data(), data.size());
    return w.commit();
}

Digest ContentStore::put_stream(ByteSource& source, const std::optional<Digest>& expected,
                                std::optional<int64_t> expected_size, const std::string& what) {
    BlobWriter w = writer(expected, expected_size, what);
    std::vector<char> buffer(256 * 1024);
    while (size_t n = source.read(buffer.data(), buffer.size()))
        w.write(buffer.data(), n);
    return w.commit();
}

BlobWriter ContentStore::writer(const std::optional<Digest>& expected,
                                std::optional<int64_t> expected_size, const std::string& what) {
    return BlobWriter(*this, expected, expected_size, what);
}

// NOLINTNEXTLINE(readability-make-member-function-const): it changes the store on disk
void ContentStore::remove(const Digest& digest) {
    if (::unlink(path(digest).c_str()) < 0 && errno != ENOENT) throw_errno("remove", path(digest));
}

std::vector<Digest> ContentStore::list() const {
    std::vector<Digest> out;
    for (auto algorithm : {DigestAlgorithm::sha256, DigestAlgorithm::sha512}) {
        std::string dir =
            root_ + "/blobs/" + (algorithm == DigestAlgorithm::sha256 ? "sha256" : "sha512");
        DIR* d = ::opendir(dir.c_str());
        if (!d) continue;
        while (dirent* e = ::readdir(d)) {
            if (auto digest = Digest::try_parse(
                    std::string(algorithm == DigestAlgorithm::sha256 ? "sha256:" : "sha512:") +
                    e->d_name))
                out.push_back(*digest);
        }
        ::closedir(d);
    }
    return out;
}

size_t ContentStore::remove_orphaned_ingest() const {
    return remove_orphaned_temps(root_ + "/blobs/ingest",
                                 [](const std::string& name) { return name.starts_with("tmp-"); });
}

FileLock ContentStore::lock(const Digest& digest) const {
    return FileLock(root_ + "/locks/" + std::string(digest.algorithm_name()) + "-" + digest.hex() +
                    ".blob");
}

struct BlobWriter::Shared {
    std::mutex mutex;
    std::condition_variable changed;
    UniqueFd fd;
    std::string temp_path;  // only without O_TMPFILE
    int64_t written = 0;
    enum class State { writing, committed, failed } state = State::writing;
    std::string error;
    std::optional<Digest> expected;
    std::optional<int64_t> expected_size;
    Hasher hasher;
    std::string what;

    Shared(const std::optional<Digest>& e, std::optional<int64_t> s, std::string w)
        : expected(e),
          expected_size(s),
          hasher(e ? e->algorithm() : DigestAlgorithm::sha256),
          what(std::move(w)) {}

    void set_failed(const std::string& why) {
        {
            std::lock_guard lock(mutex);
            if (state != State::writing) return;
            state = State::failed;
            error = why;
        }
        changed.notify_all();
        if (!temp_path.empty()) ::unlink(temp_path.c_str());
    }
};

namespace {

class Follower : public ByteSource {
  public:
    explicit Follower(std::shared_ptr<BlobWriter::Shared> shared) : shared_(std::move(shared)) {}

    size_t read(void* buffer, size_t size) override;

  private:
    std::shared_ptr<BlobWriter::Shared> shared_;
    int64_t offset_ = 0;
};

}  // namespace

BlobWriter::BlobWriter(ContentStore& store, const std::optional<Digest>& expected,
                       std::optional<int64_t> expected_size, std::string what)
    : store_(&store), shared_(std::make_shared<Shared>(expected, expected_size, std::move(what))) {
    std::string ingest = store.root_ + "/blobs/ingest";
    int fd = ::open(ingest.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
    if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
        // No O_TMPFILE on this filesystem: a named temp file, locked while we write it; after
        // a crash the next writer removes it (remove_orphaned_ingest).
        OwnedTemp temp = OwnedTemp::make_file(ingest + "/tmp-" + random_suffix());
        shared_->temp_path = temp.path();
        // The copy holds the lock for as long as the writer keeps the file open.
        fd = ::fcntl(temp.fd(), F_DUPFD_CLOEXEC, 0);
    }
    if (fd < 0) throw_errno("create temp blob in", ingest);
    shared_->fd.reset(fd);
}

BlobWriter::BlobWriter(BlobWriter&&) noexcept = default;
BlobWriter& BlobWriter::operator=(BlobWriter&&) noexcept = default;

BlobWriter::~BlobWriter() {
    if (shared_) shared_->set_failed(shared_->what + ": aborted");
}

const std::string& BlobWriter::what() const {
    return shared_->what;
}

int64_t BlobWriter::written() const {
    std::lock_guard lock(shared_->mutex);
    return shared_->written;
}

void BlobWriter::write(const void* data, size_t size) {
    Shared& s = *shared_;
    if (s.expected_size && s.written + static_cast<int64_t>(size) > *s.expected_size) {
        std::string why =
            s.what + ": more data than the expected " + std::to_string(*s.expected_size) + " bytes";
        s.set_failed(why);
        throw BlobVerificationError(why);
    }
    s.hasher.update(data, size);
    const auto* p = static_cast<const char*>(data);
    size_t left = size;
    while (left > 0) {
        ssize_t n = ::write(s.fd.get(), p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            int saved = errno;
            s.set_failed(s.what + ": write failed");
            throw_system_error(saved, "write", s.what);
        }
        p += n;
        left -= static_cast<size_t>(n);
    }
    {
        std::lock_guard lock(s.mutex);
        s.written += static_cast<int64_t>(size);
    }
    s.changed.notify_all();
}

void BlobWriter::fail(const std::string& why) {
    shared_->set_failed(why);
}

Digest BlobWriter::commit() {
    Shared& s = *shared_;
    auto reject = [&](const std::string& why) {
        s.set_failed(why);
        throw BlobVerificationError(why);
    };
    if (s.expected_size && s.written != *s.expected_size)
        reject(s.what + ": truncated: got " + std::to_string(s.written) + " of " +
               std::to_string(*s.expected_size) + " bytes");
    Digest digest = s.hasher.finish();
    if (s.expected && digest != *s.expected)
        reject(s.what + ": digest mismatch: the content hashes to " + digest.str());
    if (::fsync(s.fd.get()) < 0) {
        int saved = errno;
        s.set_failed(s.what + ": fsync failed");
        throw_system_error(saved, "fsync", s.what);
    }
    std::string final_path = store_->path(digest);
    int rc;
    if (s.temp_path.empty()) {
        rc = ::linkat(AT_FDCWD, fd_path(s.fd.get()).c_str(), AT_FDCWD, final_path.c_str(),
                      AT_SYMLINK_FOLLOW);
        if (rc < 0 && errno == EEXIST) rc = 0;  // the same bytes, stored by someone else
    } else {
        rc = ::rename(s.temp_path.c_str(), final_path.c_str());
        if (rc == 0) s.temp_path.clear();
    }
    if (rc < 0) {
        int saved = errno;
        s.set_failed(s.what + ": cannot store the blob");
        throw_system_error(saved, "link", final_path);
    }
    fsync_dir(parent_path(final_path));
    {
        std::lock_guard lock(s.mutex);
        s.state = Shared::State::committed;
    }
    s.changed.notify_all();
    return digest;
}

std::unique_ptr<ByteSource> BlobWriter::follow() const {
    return std::make_unique<Follower>(shared_);
}

size_t Follower::read(void* buffer, size_t size) {
    BlobWriter::Shared& s = *shared_;
    std::unique_lock lock(s.mutex);
    s.changed.wait(
        lock, [&] { return s.written > offset_ || s.state != BlobWriter::Shared::State::writing; });
    if (s.state == BlobWriter::Shared::State::failed) throw Error(s.error);
    int64_t available = s.written - offset_;
    if (available == 0) return 0;  // committed and read to the end
    lock.unlock();
    size_t want = std::min<size_t>(size, static_cast<size_t>(available));
    ssize_t n;
    do {
        n = ::pread(s.fd.get(), buffer, want, offset_);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw_errno("read", s.what);
    offset_ += n;
    return static_cast<size_t>(n);
}

}  // namespace berth::image
