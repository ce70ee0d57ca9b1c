#include "engine/monitor/launch.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <cerrno>

#include "common/error.hpp"
#include "common/file.hpp"

extern char** environ;

namespace berth::engine {
namespace {

struct Pipe {
    UniqueFd read, write;
};

// Both ends above fd 5: the spawn's dup2s onto 3, 4 and 5 run in order and must not
// overwrite a source still to be moved.
Pipe make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe");
    Pipe p{UniqueFd(fds[0]), UniqueFd(fds[1])};
    for (UniqueFd* end : {&p.read, &p.write}) {
        if (end->get() > 5) continue;
        UniqueFd moved(::fcntl(end->get(), F_DUPFD_CLOEXEC, 6));
        if (!moved) throw_errno("dup");
        *end = std::move(moved);
    }
    return p;
}

}  // namespace

MonitorProcess::MonitorProcess(const std::string& monitor_binary, const std::string& root) {
    Pipe sync = make_pipe(), gate = make_pipe(), config = make_pipe();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDWR, 0);
    posix_spawn_file_actions_adddup2(&actions, 0, 1);
    posix_spawn_file_actions_adddup2(&actions, 0, 2);
    // dup2 clears close-on-exec on the copies.
    posix_spawn_file_actions_adddup2(&actions, sync.write.get(), 3);
    posix_spawn_file_actions_adddup2(&actions, gate.read.get(), 4);
    posix_spawn_file_actions_adddup2(&actions, config.read.get(), 5);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setflags(&attributes,
                             POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    const char* argv[] = {monitor_binary.c_str(), "--detach", root.c_str(), nullptr};
    pid_t pid = 0;
    int rc = ::posix_spawn(&pid, argv[0], &actions, &attributes, const_cast<char* const*>(argv),
                           environ);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw_system_error(rc, "start", monitor_binary);
    sync_ = std::move(sync.read);
    gate_ = std::move(gate.write);
    config_ = std::move(config.write);
}

UniqueFd MonitorProcess::configure(const MonitorConfig& config, UniqueFd& gate) {
    // A few kilobytes: the pipe holds them whether or not the monitor reads yet. A monitor
    // that is gone has said why on the sync pipe, which the caller reads.
    write_to_pipe(config_.get(), config.to_json().dump());
    config_.reset();
    if (config.network_gate)
        gate = std::move(gate_);
    else
        gate_.reset();
    return std::move(sync_);
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
