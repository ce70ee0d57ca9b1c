// Per-process settings from config.json "process" that the container's process gets
// before it runs: rlimits, personality, I/O priority, scheduler, session keyring, user.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <functional>

#include <string>
#include <vector>

#include "oci/runtime_spec.hpp"
#include "runtime/capabilities.hpp"

namespace berth::runtime {

void apply_rlimits(const std::vector<oci::Rlimit>& rlimits);
void apply_personality(const oci::Personality& personality);
void apply_io_priority(const oci::IoPriority& priority);
void apply_scheduler(const oci::Scheduler& scheduler);
// A fresh session keyring named after the container, so containers don't share keys.
void join_session_keyring(const std::string& container_id);
// setgroups/setresgid/setresuid. setgroups is skipped where the user namespace denies it.
void switch_user(const oci::User& user);

// PATH search inside the (already entered) root, as execvp would, so a missing program is
// reported before the container is reported created.
std::string find_executable(const std::string& program, const std::vector<std::string>& env);

// HOME from the container's /etc/passwd when the environment lacks it (runc's behaviour).
void add_home_if_missing(std::vector<std::string>& env, uid_t uid);

// Becoming the container's process, in the order that works: SELinux label, seccomp (before
// giving up CAP_SYS_ADMIN when no_new_privs is off), bounding set, user (keeping capabilities
// across setuid), capability sets, cwd, umask. capabilities may be null (left as they are).
void assume_process_identity(const oci::Process& process, const CapabilitySets* capabilities,
                             const std::function<void()>& load_seccomp);

// Restores the signal mask, loads seccomp now if no_new_privs is on (last, so that the filter
// only has to allow execve), and execs. Throws when execve fails.
[[noreturn]] void exec_process(const oci::Process& process, const std::string& executable,
                               std::vector<std::string> env, const sigset_t& signal_mask,
                               const std::function<void()>& load_seccomp);

}  // namespace berth::runtime
