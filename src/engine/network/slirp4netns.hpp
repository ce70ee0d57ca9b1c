// slirp4netns: user-mode networking for a rootless container (no veth, no bridge, nothing
// privileged): a tap device in the container's network namespace, 10.0.2.100/24 with the
// gateway 10.0.2.2 and a DNS forwarder at 10.0.2.3, and published ports as host sockets
// opened by slirp4netns itself through its API socket (add_hostfwd).
//
// The process lives as long as the object that started it, and never longer than its
// owner: it exits when the exit pipe (whose write end only the owner holds) closes, which a
// SIGKILL of the owner does too.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "common/unique_fd.hpp"

namespace berth::engine {

// The network's name (--network slirp4netns, the rootless default) and its fixed addresses.
inline constexpr const char* kSlirp4netnsNetwork = "slirp4netns";
inline constexpr const char* kSlirp4netnsGuestAddress = "10.0.2.100";
inline constexpr const char* kSlirp4netnsDns = "10.0.2.3";

struct ForwardedPort {
    std::string protocol = "tcp";  // tcp or udp
    std::string host_ip;           // "" for every address
    int64_t host_port = 0;
    int64_t container_port = 0;
};

class Slirp4netns {
  public:
    struct Options {
        std::string program = "slirp4netns";
        std::string netns_path;  // the container's network namespace (a bind mount of nsfs)
        std::string api_socket;
        std::string log_path;  // its stdout and stderr
    };

    Slirp4netns() = default;
    // Starts it and waits until the tap device is configured; throws Error.
    explicit Slirp4netns(const Options& options);
    Slirp4netns(Slirp4netns&& other) noexcept;
    Slirp4netns& operator=(Slirp4netns&& other) noexcept;
    Slirp4netns(const Slirp4netns&) = delete;
    Slirp4netns& operator=(const Slirp4netns&) = delete;
    ~Slirp4netns() { stop(); }

    // add_hostfwd; throws Error "cannot publish port N/PROTO: ..." (e.g. in use).
    void forward(const ForwardedPort& port) const;
    // Closes the exit pipe and reaps it (SIGKILL after a second); nothing when not running.
    void stop() noexcept;
    [[nodiscard]] pid_t pid() const { return pid_; }

  private:
    pid_t pid_ = 0;
    UniqueFd exit_write_;
    std::string api_socket_;
};

}  // namespace berth::engine
