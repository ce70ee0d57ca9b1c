#include "engine/monitor/mini_init.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "engine/subprocess.hpp"

namespace berth::engine {

int run_mini_init(char** argv) {
    sigset_t all, old;
    sigfillset(&all);
    ::sigprocmask(SIG_BLOCK, &all, &old);
    pid_t child = ::fork();
    if (child < 0) {
        std::perror("berth-init: fork");
        return 125;
    }
    if (child == 0) {
        ::sigprocmask(SIG_SETMASK, &old, nullptr);
        ::setpgid(0, 0);
        ::execvp(argv[0], argv);
        std::fprintf(stderr, "berth-init: exec %s: %s\n", argv[0], std::strerror(errno));
        ::_exit(errno == ENOENT ? 127 : 126);
    }
    while (true) {
        int sig = 0;
        if (::sigwait(&all, &sig) != 0) continue;
        if (sig != SIGCHLD) {
            ::kill(child, sig);
            continue;
        }
        int status = 0;
        pid_t pid;
        while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0)
            if (pid == child) return decode_wait_status(status);
    }
}

}  // namespace berth::engine
