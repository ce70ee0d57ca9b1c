// The parent/child handshake while a container process is being set up: small typed
// messages over a SOCK_SEQPACKET socketpair. An error in the child travels back as text so
// the runtime prints one line that says what failed inside the container's setup.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "common/unique_fd.hpp"

namespace berth::runtime {

enum class SyncType : uint32_t {
    setup_done = 1,  // parent -> child: id maps written, cgroup joined; go on
    map_ids,         // child -> parent: write uid/gid maps of pid `value` (after unshare)
    init_pid,        // child -> parent: the container's init pid (after an extra fork)
    run_hooks,       // child -> parent: mounts done, run prestart/createRuntime hooks
    hooks_done,      // parent -> child; value: the init's pid as the host sees it
    ready,           // child -> parent: about to wait for `start`
    start,           // parent -> child (run, exec): exec the process now
    error,           // either way: text is the message
    // child -> parent: the seccomp notification listener will be fd `value` (seccomp/listener.hpp)
    seccomp_listener,
    recorded,  // parent -> child (create): the state is recorded, outlive the runtime
};

struct SyncMessage {
    SyncType type{};
    int64_t value = 0;
    std::string text;
};

class SyncSocket {
  public:
    SyncSocket() = default;
    explicit SyncSocket(UniqueFd fd) : fd_(std::move(fd)) {}
    static std::pair<SyncSocket, SyncSocket> make_pair();

    [[nodiscard]] int fd() const { return fd_.get(); }
    void close() { fd_.reset(); }

    void send(SyncType type, int64_t value = 0, const std::string& text = {}) const;
    // Best effort from a failing child: never throws; false when it could not be sent.
    bool send_error(const std::string& text) const noexcept;
    // Next message; a child's error message is rethrown as berth::Error with its text.
    // Returns nullopt-like type 0 on EOF via `eof` flag.
    SyncMessage receive(bool* eof = nullptr) const;
    // Receives and requires `type`; EOF or another type is an error naming `what`.
    SyncMessage expect(SyncType type, const char* what) const;

  private:
    UniqueFd fd_;
};

}  // namespace berth::runtime
