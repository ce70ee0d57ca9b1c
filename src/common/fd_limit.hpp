// The number of files a long-lived server may hold open. systemd starts services with a soft
// RLIMIT_NOFILE of 1024 and a much higher hard limit; a server with more connections than
// that fails every accept (and every open) while its clients wait. As nginx's
// worker_rlimit_nofile and Go's runtime do, a server raises its soft limit to the hard one at
// start and keeps its connection cap below what it then has.
#pragma once

#include <cstddef>
#include <cstdint>

namespace berth {

// Raises the soft RLIMIT_NOFILE as far as the hard limit (and the kernel's fs.nr_open) allow;
// returns the soft limit in force afterwards. Never throws.
uint64_t raise_fd_limit() noexcept;

// The most connections a server may hold with fd_limit files, each connection needing up to
// fds_per_connection of them (its socket, the file it serves or writes, an upstream socket),
// with a reserve for the process itself; at least 1.
size_t connection_cap(uint64_t fd_limit, size_t fds_per_connection);

}  // namespace berth
