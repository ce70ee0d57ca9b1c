// `--security-opt seccomp=record:FILE`: the container runs under a filter whose every
// system call is a seccomp user notification (SCMP_ACT_NOTIFY, SECCOMP_RET_USER_NOTIF); the
// runtime hands the listener to a recorder process of this monitor (linux.seccomp.
// listenerPath), which records the call's architecture and number and lets it continue
// (SECCOMP_USER_NOTIF_FLAG_CONTINUE). When the container exits the recorder writes a
// docker-format profile allowing exactly the calls it saw, default action SCMP_ACT_ERRNO.
//
// Why a notification listener rather than SECCOMP_RET_LOG: RET_LOG's records go to the audit
// log or the kernel log, which are rate-limited and shared by the whole host (a busy container
// loses records, so the profile would miss calls and the next run would fail), need root to
// read, and tell containers apart only by pid. A listener sees every call of exactly this
// container, loses none, and works rootless. Its cost (a round trip per call) is paid only by
// the recording run.
//
// The recorder is a process forked from the monitor, not a thread: the runtime clones the
// container's init from the monitor, and an init cloned from a multi-threaded process hangs in
// glibc's set*id (which waits for the other threads, absent in the clone, to follow).
#pragma once

#include <sys/types.h>

#include <string>

#include "common/unique_fd.hpp"

namespace berth::engine {

class SeccompRecorder {
  public:
    // Listens on socket_path (in the monitor, so that it exists before the runtime runs) and
    // forks the recorder; the profile goes to output.
    SeccompRecorder(std::string socket_path, const std::string& output);
    ~SeccompRecorder();  // the recorder exits with the monitor's end of its pipe
    SeccompRecorder(const SeccompRecorder&) = delete;
    SeccompRecorder& operator=(const SeccompRecorder&) = delete;

    // After the container's exit: the recorder waits (bounded) until its filters' listeners
    // hang up, writes the profile of every call seen so far (restarts add to it), and says so.
    void write_profile();

  private:
    std::string socket_path_;
    UniqueFd control_, status_;
    pid_t pid_ = -1;
};

}  // namespace berth::engine
