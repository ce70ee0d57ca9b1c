// Debian's dockerd (docker.io: dockerd 20.10 with BuildKit) as the real peer of a test: its own
// --data-root, --exec-root, socket and managed containerd under a temp dir, no bridge and no
// iptables rules (the host's networking is shared with other tests; builds use the host's
// network). The destructor stops it and removes what it mounted, also when a test failed.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/command.hpp"
#include "support/fixture.hpp"

namespace berth::test {

class DockerDaemon {
  public:
    // Starts dockerd and waits until it answers; throws (with its log) when it does not.
    DockerDaemon();
    ~DockerDaemon();
    DockerDaemon(const DockerDaemon&) = delete;
    DockerDaemon& operator=(const DockerDaemon&) = delete;

    // Debian's docker client (20.10: BuildKit without buildx) against this daemon, with
    // DOCKER_BUILDKIT=1 and a private DOCKER_CONFIG.
    CommandResult operator()(const std::vector<std::string>& args,
                             const CommandOptions& options = {}) const;
    [[nodiscard]] std::string log() const;
    [[nodiscard]] const std::string& dir() const { return dir_.path(); }

  private:
    void stop();
    TempDir dir_;
    std::unique_ptr<BackgroundCommand> process_;
    bool exited_ = false;
};

// The daemon and client binaries Debian's docker.io installs; empty when absent.
std::string dockerd_binary();

}  // namespace berth::test
