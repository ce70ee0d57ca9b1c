// Running helper programs (the OCI runtime, CNI plugins, the monitor's cleanup command):
// fork + exec with chosen stdio, output captured, exit status decoded the shell's way.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

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
};

// Runs argv to completion. Throws SystemError when it cannot be started.
SubprocessResult run_subprocess(const std::vector<std::string>& argv,
                                const SubprocessOptions& options = {});

// waitpid status -> exit code as a shell reports it.
int decode_wait_status(int status);

}  // namespace berth::engine
