#include "runtime/exec_outcome.hpp"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "common/file.hpp"
#include "common/strings.hpp"

namespace berth::runtime {
namespace {

struct StatFields {
    std::string comm;
    char state = '?';
    int exit_code = 0;  // field 52, as waitpid(2) reports it
};

std::optional<StatFields> read_stat(pid_t pid) {
    auto text = read_file_if_exists("/proc/" + std::to_string(pid) + "/stat");
    if (!text) return std::nullopt;
    size_t open = text->find('(');
    size_t close = text->rfind(')');
    if (open == std::string::npos || close == std::string::npos || close + 2 >= text->size())
        return std::nullopt;
    StatFields f;
    f.comm = text->substr(open + 1, close - open - 1);
    f.state = (*text)[close + 2];
    auto fields = split(std::string_view(*text).substr(close + 2), ' ');
    // fields[0] is field 3; exit_code is field 52 (Linux >= 3.5).
    if (fields.size() >= 50)
        f.exit_code = static_cast<int>(parse_int64(trim(fields[49])).value_or(0));
    return f;
}

std::string describe(const StatFields& f, const std::string& program) {
    std::string head = "container process is already dead: ";
    const int status = f.exit_code;
    if (WIFSIGNALED(status)) {
        const int sig = WTERMSIG(status);
        return head + "killed by signal " + std::to_string(sig) + " (" + ::strsignal(sig) +
               ") before its exec" + (program.empty() ? "" : " of " + program);
    }
    const int code = WEXITSTATUS(status);
    if (code >= 1 && code <= 126)
        return head + "exec" + (program.empty() ? "" : " of " + program) +
               " failed: " + std::strerror(code);
    if (code >= 128)
        return head + "its set-up failed before the exec: " + std::strerror(code - 128);
    return head + "it exited with status " + std::to_string(code) + " before its exec";
}

}  // namespace

int unreported_failure_status(int error, bool at_exec) {
    if (at_exec && error >= 1 && error <= 126) return error;
    if (!at_exec && error >= 1 && error <= 127) return 128 + error;
    return 127;
}

std::optional<std::string> death_before_exec(pid_t pid, const std::string& program) {
    // Right after the end of file the init is either exec'ing (its comm changes a moment
    // after its close-on-exec fds close) or exiting (a zombie a moment later).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    for (;;) {
        auto f = read_stat(pid);
        if (!f || f->comm != kInitName) return std::nullopt;
        if (f->state == 'Z' || f->state == 'X') return describe(*f, program);
        if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
}

}  // namespace berth::runtime
