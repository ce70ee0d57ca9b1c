// A containerd of the test's own, driving an OCI runtime through its runc shim
// (io.containerd.runc.v2, `ctr run --runc-binary`). Its root, state, socket, config, TMPDIR,
// IO fifos and the runtime's state root live under one temp dir; its namespace (and so the
// cgroup parent, /<namespace>) is named after the test. The destructor removes every task,
// container, snapshot, mount, shim and cgroup it made, also when an assertion failed.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/command.hpp"
#include "support/fixture.hpp"

namespace berth::test {

class Containerd {
  public:
    // Starts containerd with `runtime` as the shim's runc binary; throws when it does not
    // come up.
    explicit Containerd(std::string runtime = runtime_binary());
    ~Containerd();
    Containerd(const Containerd&) = delete;
    Containerd& operator=(const Containerd&) = delete;

    [[nodiscard]] const std::string& dir() const { return dir_.path(); }
    [[nodiscard]] const std::string& name_space() const { return namespace_; }
    // Where the shim has the runtime keep container state (--root).
    [[nodiscard]] std::string runtime_state_root() const;
    // The runtime with that --root, for checks.
    [[nodiscard]] std::vector<std::string> runtime_command(
        const std::vector<std::string>& args) const;

    // ctr with our socket and namespace.
    [[nodiscard]] std::vector<std::string> ctr_command(const std::vector<std::string>& args) const;
    CommandResult ctr(const std::vector<std::string>& args,
                      const CommandOptions& options = {}) const;
    // `ctr run FLAGS localhost/busybox:latest ID ARGS...` with our runtime and fifo dir.
    [[nodiscard]] std::vector<std::string> run_command_line(
        const std::vector<std::string>& flags, const std::string& id,
        const std::vector<std::string>& args) const;
    // `ctr task exec FLAGS --exec-id EXEC_ID ID ARGS...` with our fifo dir.
    [[nodiscard]] std::vector<std::string> exec_command_line(
        const std::vector<std::string>& flags, const std::string& id, const std::string& exec_id,
        const std::vector<std::string>& args) const;

    // `ctr task ls`: id -> {pid, status}; empty when it fails.
    struct Task {
        int pid = 0;
        std::string status;
    };
    [[nodiscard]] std::map<std::string, Task> tasks() const;

  private:
    void remove_everything();

    std::string runtime_;
    TempDir dir_;
    std::string namespace_;
    std::unique_ptr<BackgroundCommand> daemon_;
    bool made_run_containerd_ = false;  // the shims' socket directory, /run/containerd/s
};

}  // namespace berth::test
