// Running helper programs (the OCI runtime, CNI plugins, the monitor's cleanup command):
// posix_spawn with chosen stdio, output captured, exit status decoded the shell's way.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "common/unique_fd.hpp"

namespace berth::engine {

struct SubprocessResult {
    int exit_code = -1;  // 128+N when killed by signal N
    std::string out;     // captured stdout (when capture_stdout)
    std::string err;     // captured stderr (when capture_stderr)
};

struct SubprocessOptions {
    std::string input;  // written to its stdin (otherwise /dev/null)
    bool capture_stdout = true;
    bool capture_stderr = true;
    std::vector<std::string> env;                       // replaces the environment when not empty
    int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;  // given fds instead
    std::optional<std::chrono::milliseconds> timeout;   // SIGKILL after it
    bool new_process_group = false;  // a terminal's ^C then reaches us alone, not the child
};

// A helper program started and not yet waited for: its output is read by wait(). The
// destructor waits too (a started child is never left unreaped).
class Subprocess {
  public:
    // Starts argv with posix_spawn (the parent's memory is not copied: a vfork, which costs
    // the same for the 14 MB `berth` as for the monitor) and writes options.input to its
    // stdin. A program that cannot be executed is not an exception: wait() then reports
    // 127 (not found) or 126 with "exec PROGRAM: REASON" as its stderr.
    // Throws SystemError when the pipes or the process cannot be made.
    Subprocess(const std::vector<std::string>& argv, const SubprocessOptions& options);
    Subprocess(const Subprocess&) = delete;
    Subprocess& operator=(const Subprocess&) = delete;
    ~Subprocess();

    // Reads its captured output to the end (SIGKILL at the timeout) and reaps it.
    SubprocessResult wait();
    [[nodiscard]] pid_t pid() const { return pid_; }

  private:
    pid_t pid_ = -1;
    UniqueFd out_, err_;
    std::optional<std::chrono::steady_clock::time_point> deadline_;
    SubprocessResult result_;
};

// Runs argv to completion. Throws SystemError when it cannot be started.
SubprocessResult run_subprocess(const std::vector<std::string>& argv,
                                const SubprocessOptions& options = {});

// waitpid status -> exit code as a shell reports it.
int decode_wait_status(int status);

}  // namespace berth::engine
