#include "runtime/parent_death.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace berth::runtime {

void die_with_parent(int peer_fd) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    pollfd peer{peer_fd, POLLRDHUP, 0};
    if (::poll(&peer, 1, 0) == 1 && (peer.revents & (POLLHUP | POLLRDHUP))) ::_exit(127);
}

void outlive_parent() {
    ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
}

}  // namespace berth::runtime
