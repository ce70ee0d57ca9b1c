// podman as a test's client of an OCI runtime (`podman --runtime`): its storage (--root,
// --runroot), tmp dir, config, locks, events and the runtime's state root live under one temp
// dir; containers go under a cgroup parent named after the test (conmon too, in its
// "conmon" child). The destructor removes every container, conmon, mount and cgroup it made,
// also when an assertion failed.
#pragma once

#include <string>
#include <vector>

#include "support/command.hpp"
#include "support/fixture.hpp"

namespace berth::test {

class Podman {
  public:
    // Configures podman for `runtime` and loads the busybox image; throws when that fails.
    explicit Podman(std::string runtime = runtime_binary());
    ~Podman();
    Podman(const Podman&) = delete;
    Podman& operator=(const Podman&) = delete;

    [[nodiscard]] const std::string& dir() const { return dir_.path(); }
    [[nodiscard]] const std::string& cgroup_parent() const { return cgroup_parent_; }
    // Where the runtime keeps container state (--root).
    [[nodiscard]] std::string runtime_state_root() const { return dir() + "/runtime-root"; }
    [[nodiscard]] std::vector<std::string> runtime_command(
        const std::vector<std::string>& args) const;

    [[nodiscard]] std::vector<std::string> command(const std::vector<std::string>& args) const;
    // What podman needs in its environment (config files, TMPDIR), for running command().
    [[nodiscard]] const std::vector<std::string>& environment() const { return env_; }
    CommandResult operator()(const std::vector<std::string>& args,
                             const CommandOptions& options = {}) const;
    CommandResult with_terminal(const std::vector<std::string>& args) const;
    // `run ARGS...` flags every test container gets: no network, our cgroup parent.
    [[nodiscard]] std::vector<std::string> run_flags() const;

  private:
    void remove_everything();

    std::string runtime_;
    TempDir dir_;
    std::string cgroup_parent_;
    std::vector<std::string> env_;
};

}  // namespace berth::test
