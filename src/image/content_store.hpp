// The content-addressed store: <root>/blobs/<algorithm>/<hex>, immutable. A blob is written
// to an unnamed temp file (O_TMPFILE) while its digest is computed, checked against the
// expected digest and size, fsynced, and only then linked under its name: a crash, a digest
// mismatch or a truncated download never leaves a partial or wrong blob visible.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/digest.hpp"
#include "common/unique_fd.hpp"
#include "image/byte_source.hpp"

namespace berth::image {

// A blob whose bytes do not match what its descriptor promised.
class BlobVerificationError : public Error {
  public:
    using Error::Error;
};

class BlobWriter;

// An exclusive flock(2) on a name under <root>/locks/, released on destruction. Shared by
// processes and threads: two pulls of the same blob or snapshot wait for each other.
class FileLock {
  public:
    FileLock() = default;
    explicit FileLock(const std::string& path, bool shared = false);
    [[nodiscard]] bool held() const { return fd_.valid(); }

  private:
    UniqueFd fd_;
};

class ContentStore {
  public:
    explicit ContentStore(std::string root);  // root: the berth root (blobs/ and locks/ below)

    [[nodiscard]] bool has(const Digest& digest) const;
    [[nodiscard]] std::string path(const Digest& digest) const;
    [[nodiscard]] std::optional<int64_t> size(const Digest& digest) const;
    // Opens for reading; throws naming the digest when absent.
    [[nodiscard]] UniqueFd open(const Digest& digest) const;
    // Reads a small blob (manifest, config) whole and checks its digest again.
    [[nodiscard]] std::string read(const Digest& digest) const;
    // Writes data, verifying it against expected when given; returns its digest.
    Digest put(std::string_view data, const std::optional<Digest>& expected = std::nullopt);
    // Copies a stream into the store (verified), e.g. a layer read from an archive.
    Digest put_stream(ByteSource& source, const std::optional<Digest>& expected,
                      std::optional<int64_t> expected_size, const std::string& what);
    BlobWriter writer(const std::optional<Digest>& expected, std::optional<int64_t> expected_size,
                      const std::string& what);
    void remove(const Digest& digest);
    [[nodiscard]] std::vector<Digest> list() const;
    // Serialises work on one blob across processes (downloads shared by concurrent pulls).
    [[nodiscard]] FileLock lock(const Digest& digest) const;
    // Removes the named ingest files (made where O_TMPFILE is missing) of writers that are
    // gone; returns how many.
    size_t remove_orphaned_ingest() const;
    [[nodiscard]] const std::string& root() const { return root_; }

  private:
    friend class BlobWriter;
    std::string root_;
};

// Follows a BlobWriter: reads the bytes as they are written and ends when the writer
// commits; throws if the writer fails first. Used to unpack a layer while it downloads.
class BlobFollower;

class BlobWriter {
  public:
    BlobWriter(BlobWriter&&) noexcept;
    BlobWriter& operator=(BlobWriter&&) noexcept;
    BlobWriter(const BlobWriter&) = delete;
    BlobWriter& operator=(const BlobWriter&) = delete;
    ~BlobWriter();  // not committed: the temp file disappears (and followers see a failure)

    void write(const void* data, size_t size);
    [[nodiscard]] int64_t written() const;
    // Checks size and digest, fsyncs and links the blob under its name. Returns the digest.
    Digest commit();
    // Marks the blob failed with why (followers throw it); the temp file is discarded.
    void fail(const std::string& why);
    [[nodiscard]] std::unique_ptr<ByteSource> follow() const;
    [[nodiscard]] const std::string& what() const;

    struct Shared;  // state shared with followers (content_store.cpp)

  private:
    friend class ContentStore;
    BlobWriter(ContentStore& store, const std::optional<Digest>& expected,
               std::optional<int64_t> expected_size, std::string what);
    ContentStore* store_;
    std::shared_ptr<Shared> shared_;
};

}  // namespace berth::image
