// The receiving end of the OCI runtime's --console-socket: a unix socket on which the
// runtime sends the pty master of a container with a terminal (SCM_RIGHTS).
#pragma once

#include <string>

#include "common/unique_fd.hpp"

namespace berth::engine {

// A listening unix socket at path (relative to the cwd: paths under long roots may not
// fit in sockaddr_un, so callers chdir first). Replaces a stale socket file.
UniqueFd listen_unix(const std::string& path, int backlog = 16);

// Connects to a unix socket at path, which may be long: it is reached through an O_PATH fd
// of its directory (/proc/self/fd/N/name). Throws SystemError.
UniqueFd connect_unix(const std::string& path);

// Accepts one connection and receives one fd over it.
UniqueFd receive_fd(int listener);

}  // namespace berth::engine
