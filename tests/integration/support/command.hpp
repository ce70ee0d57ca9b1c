// Running programs from integration tests: capture stdout/stderr, feed stdin, time out.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace berth::test {

struct CommandResult {
    int exit_code = -1;  // 128+N when killed by signal N; -1 when it timed out
    std::string out;
    std::string err;
    [[nodiscard]] std::string describe() const;  // for assertion messages
};

struct CommandOptions {
    std::string input;
    std::chrono::milliseconds timeout{60000};
    std::vector<std::string> env;  // extra KEY=VALUE
    std::vector<int> inherit_fds;  // fds kept open in the child at the same numbers
    std::string cwd;
    int run_as_uid = -1;  // setuid/setgid before exec (rootless tests)
    int run_as_gid = -1;
    std::string output_path;  // BackgroundCommand: stdout and stderr appended here (default: ours)
};

CommandResult run_command(const std::vector<std::string>& argv, const CommandOptions& options = {});

// Quotes one word for `sh -c`.
std::string shell_quote(const std::string& word);

// Runs argv with a terminal on its stdio (under `script -qec`, which relays the pty and
// returns argv's exit code). out holds what argv wrote to the terminal, with "\r\n" line ends.
CommandResult run_with_terminal(const std::vector<std::string>& argv,
                                const CommandOptions& options = {});

// A started command you wait for later (e.g. a server).
class BackgroundCommand {
  public:
    BackgroundCommand(const std::vector<std::string>& argv, const CommandOptions& options = {});
    ~BackgroundCommand();
    BackgroundCommand(const BackgroundCommand&) = delete;
    BackgroundCommand& operator=(const BackgroundCommand&) = delete;
    [[nodiscard]] int pid() const { return pid_; }
    // Waits up to timeout; returns the exit code or -1.
    int wait(std::chrono::milliseconds timeout);
    void signal(int sig);

  private:
    int pid_ = -1;
    bool reaped_ = false;
};

}  // namespace berth::test
