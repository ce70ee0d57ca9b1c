#include "engine/monitor_launch.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <cerrno>

#include "common/error.hpp"

extern char** environ;

namespace berth::engine {

UniqueFd spawn_monitor(const std::string& monitor_binary, const std::string& config_path,
                       int gate) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe");
    UniqueFd read_end(fds[0]), write_end(fds[1]);
    // The dup2s below run in order: a gate numbered 3 would be overwritten by the sync
    // pipe before it is moved to 4.
    UniqueFd gate_copy;
    if (gate >= 0 && gate <= 4) {
        gate_copy.reset(::fcntl(gate, F_DUPFD_CLOEXEC, 5));
        if (!gate_copy) throw_errno("dup");
        gate = gate_copy.get();
    }

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDWR, 0);
    posix_spawn_file_actions_adddup2(&actions, 0, 1);
    posix_spawn_file_actions_adddup2(&actions, 0, 2);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), 3);  // clears close-on-exec
    if (gate >= 0) posix_spawn_file_actions_adddup2(&actions, gate, 4);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setflags(&attributes,
                             POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    const char* argv[] = {monitor_binary.c_str(), "--detach", config_path.c_str(), nullptr};
    pid_t pid = 0;
    int rc = ::posix_spawn(&pid, argv[0], &actions, &attributes, const_cast<char* const*>(argv),
                           environ);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw_system_error(rc, "start", monitor_binary);
    write_end.reset();
    return read_end;
}

std::string read_sync_line(int fd) {
    std::string line;
    char c;
    while (true) {
        ssize_t n = ::read(fd, &c, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || c == '\n') return line;
        line.push_back(c);
    }
}

}  // namespace berth::engine
