// Upload sessions: <root>/uploads/<id>/{repository,data}. A chunk is appended under an
// exclusive lock on the session and undone (truncated back) unless it arrives whole; the
// finished file is hashed, checked against the digest the client names, fsynced and renamed
// into the content store. Sessions not touched within the expiry are removed.
//
// Each server process owns the sessions it starts: their ids begin with its instance (8 hex
// digits), and it holds a lock on <root>/uploads/.owner-<instance> while it runs. A process
// that stops gracefully removes its owner file and hands its sessions on (a client may go on
// after a restart, until they expire); the sessions of a process that crashed (its owner
// file still there, and no longer locked) are garbage, removed by the next sweep.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/digest.hpp"
#include "common/owned_temp.hpp"
#include "common/unique_fd.hpp"
#include "distribution/server/http_message.hpp"
#include "distribution/server/storage.hpp"

namespace berth::registry {

// The running digest of a session's bytes, kept in memory so that finishing an upload
// does not read the file again. Valid while `covered` equals the file's size; a chunk that
// is undone, or a restart, makes it invalid and the file is hashed instead.
struct SessionHash {
    std::mutex mutex;
    int64_t covered = 0;  // -1: invalid
    Hasher hasher{DigestAlgorithm::sha256};
};

// Appends a request body to a session's data file; undoes the append unless commit()ed.
// Writeback starts while the body arrives (sync_file_range), so the final fsync is short.
class UploadSink : public BodySink {
  public:
    UploadSink(UniqueFd fd, int64_t start, std::string path, std::shared_ptr<SessionHash> hash);
    ~UploadSink() override;
    UploadSink(const UploadSink&) = delete;
    UploadSink& operator=(const UploadSink&) = delete;
    void write(const char* data, size_t size) override;
    // Keeps what was written; returns the session's new size.
    int64_t commit();
    [[nodiscard]] int64_t written() const { return written_; }
    [[nodiscard]] int fd() const { return fd_.get(); }

  private:
    UniqueFd fd_;
    int64_t start_;
    int64_t written_ = 0;
    std::string path_;
    bool committed_ = false;
    std::shared_ptr<SessionHash> hash_;
    bool hashing_ = false;
    int64_t synced_ = 0;  // bytes of this chunk whose writeback was started
};

class Uploads {
  public:
    Uploads(Storage& storage, std::chrono::seconds expiry);
    ~Uploads();
    Uploads(const Uploads&) = delete;
    Uploads& operator=(const Uploads&) = delete;

    // A new session for repo; returns its id.
    std::string start(const std::string& repo);
    // Bytes received so far; throws BLOB_UPLOAD_UNKNOWN when the session does not exist (or
    // is another repository's).
    [[nodiscard]] int64_t size(const std::string& repo, const std::string& id) const;
    // A sink appending at the session's end. content_range ("start-end") must start there
    // (else 416 with the current Range); content_length, when given with a range, must match.
    std::unique_ptr<UploadSink> append(const std::string& repo, const std::string& id,
                                       const std::string& content_range,
                                       std::optional<uint64_t> content_length);
    // Verifies the session's bytes against expected, moves them into the store and links
    // them into repo; the session is gone afterwards either way. Throws DIGEST_INVALID.
    void finish(const std::string& repo, const std::string& id, const Digest& expected);
    void cancel(const std::string& repo, const std::string& id);
    // Removes sessions idle for longer than the expiry, and those of processes that crashed;
    // returns how many.
    size_t remove_expired();
    [[nodiscard]] size_t count() const;

  private:
    [[nodiscard]] std::string dir(const std::string& id) const;
    void check_owner(const std::string& repo, const std::string& id) const;
    std::shared_ptr<SessionHash> hash_of(const std::string& id);
    void forget_hash(const std::string& id);
    Storage& storage_;
    std::chrono::seconds expiry_;
    std::string instance_;  // 8 hex digits: the prefix of the ids of our sessions
    OwnedTemp owner_;       // <uploads>/.owner-<instance>, locked while we run
    std::mutex hashes_mutex_;
    std::map<std::string, std::shared_ptr<SessionHash>> hashes_;
};

}  // namespace berth::registry
