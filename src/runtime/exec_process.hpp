// `exec`: a new process inside a running container's namespaces and cgroup, with the
// container's security settings unless the process description says otherwise.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/container_state.hpp"

namespace berth::runtime {

struct ExecOptions {
    std::string id;
    std::string process_file;  // --process: a process JSON ("-" for stdin)
    std::vector<std::string> args;
    bool tty = false;
    std::string cwd;
    std::vector<std::string> env;
    std::string user;  // "uid[:gid]"
    std::vector<uint32_t> additional_gids;
    std::vector<std::string> add_capabilities;
    bool no_new_privileges = false;
    std::string apparmor_profile;
    std::string process_label;
    bool detach = false;
    std::string pid_file;
    std::string console_socket;
    int preserve_fds = 0;
};

// Foreground: the process's exit code. Detached: 0 once it runs.
int exec_in_container(const StateRoot& root, const ExecOptions& options);

}  // namespace berth::runtime
