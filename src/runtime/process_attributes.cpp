#include "runtime/process_attributes.hpp"

#include <grp.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "runtime/lsm.hpp"

namespace berth::runtime {

void apply_rlimits(const std::vector<oci::Rlimit>& rlimits) {
    for (const auto& r : rlimits) {
        rlimit limit{r.soft, r.hard};
        if (::setrlimit(static_cast<__rlimit_resource>(r.resource), &limit) < 0)
            throw_errno("process.rlimits: set " + r.type);
    }
}

void apply_personality(const oci::Personality& p) {
    if (::personality(p.domain) < 0) throw_errno("linux.personality: personality");
}

void apply_io_priority(const oci::IoPriority& p) {
    constexpr int kWhoProcess = 1;
    constexpr int kClassShift = 13;
    if (::syscall(SYS_ioprio_set, kWhoProcess, 0, (p.io_class << kClassShift) | p.priority) < 0)
        throw_errno("process.ioPriority: ioprio_set");
}

void apply_scheduler(const oci::Scheduler& s) {
    struct SchedAttr {
        uint32_t size;
        uint32_t sched_policy;
        uint64_t sched_flags;
        int32_t sched_nice;
        uint32_t sched_priority;
        uint64_t sched_runtime, sched_deadline, sched_period;
    } attr{};
    attr.size = sizeof attr;
    attr.sched_policy = static_cast<uint32_t>(s.policy);
    attr.sched_flags = s.flags;
    attr.sched_nice = s.nice;
    attr.sched_priority = static_cast<uint32_t>(s.priority);
    attr.sched_runtime = s.runtime;
    attr.sched_deadline = s.deadline;
    attr.sched_period = s.period;
    if (::syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
        throw_errno("process.scheduler: sched_setattr");
}

void join_session_keyring(const std::string& container_id) {
    std::string name = "_ses." + container_id;
    long id = ::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.c_str());
    if (id < 0) {
        // Kernels without keyrings, or user namespaces where the quota is spent: carry on
        // with the inherited keyring, as runc does.
        if (errno == ENOSYS || errno == EACCES || errno == EDQUOT || errno == EPERM) {
            log::debug("session keyring not created: " + std::string(strerror(errno)));
            return;
        }
        throw_errno("join session keyring", name);
    }
    // Possessor, user: everything; group/other: nothing beyond view.
    ::syscall(SYS_keyctl, KEYCTL_SETPERM, id, 0x3f3f0000);
}

void switch_user(const oci::User& user) {
    std::vector<gid_t> groups(user.additional_gids.begin(), user.additional_gids.end());
    bool setgroups_allowed = true;
    if (auto text = read_file_if_exists("/proc/self/setgroups"))
        setgroups_allowed = trim(*text) != "deny";
    if (setgroups_allowed) {
        if (::setgroups(groups.size(), groups.data()) < 0) throw_errno("process.user: setgroups");
    } else if (!groups.empty()) {
        throw Error("process.user.additionalGids: setgroups is denied in this user namespace");
    }
    if (::setresgid(user.gid, user.gid, user.gid) < 0)
        throw_errno("process.user.gid: setresgid " + std::to_string(user.gid));
    if (::setresuid(user.uid, user.uid, user.uid) < 0)
        throw_errno("process.user.uid: setresuid " + std::to_string(user.uid));
}

std::string find_executable(const std::string& program, const std::vector<std::string>& env) {
    auto check = [&](const std::string& path) -> int {
        struct stat st {};
        if (::stat(path.c_str(), &st) < 0) return errno;
        if (S_ISDIR(st.st_mode)) return EISDIR;
        if (::access(path.c_str(), X_OK) < 0) return errno;
        return 0;
    };
    if (program.find('/') != std::string::npos) {
        int err = check(program);
        if (err == ENOENT) throw Error("exec: \"" + program + "\": no such file or directory");
        if (err == EISDIR) throw Error("exec: \"" + program + "\": is a directory");
        if (err) throw Error("exec: \"" + program + "\": permission denied");
        return program;
    }
    std::string path_var =
        env_lookup(env, "PATH")
            .value_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    bool denied = false;
    for (const auto& dir : split(path_var, ':')) {
        std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
        int err = check(candidate);
        if (err == 0) return candidate;
        if (err == EACCES) denied = true;
    }
    if (denied) throw Error("exec: \"" + program + "\": permission denied");
    throw Error("exec: \"" + program + "\": executable file not found in $PATH");
}

void assume_process_identity(const oci::Process& process, const CapabilitySets* capabilities,
                             const std::function<void()>& load_seccomp) {
    apply_selinux_label(process.selinux_label);
    if (load_seccomp && !process.no_new_privileges) load_seccomp();
    if (capabilities) drop_bounding_set(*capabilities);
    if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) throw_errno("prctl(PR_SET_KEEPCAPS)");
    switch_user(process.user);
    if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) throw_errno("prctl(PR_SET_KEEPCAPS)");
    if (capabilities) apply_capabilities(*capabilities);
    if (::chdir(process.cwd.c_str()) < 0) throw_errno("process.cwd: chdir", process.cwd);
    ::umask(process.user.umask.value_or(022));
}

void exec_process(const oci::Process& process, const std::string& executable,
                  std::vector<std::string> env, const sigset_t& signal_mask,
                  const std::function<void()>& load_seccomp) {
    std::vector<std::string> args = process.args;
    std::vector<char*> argv = c_string_array(args);
    std::vector<char*> envp = c_string_array(env);
    // Ignored signals stay ignored across exec: the process starts with every signal at
    // its default, whatever its caller ignored (a monitor ignores SIGPIPE). The system
    // call, because glibc refuses the two real-time signals it keeps for itself.
    struct KernelSigaction {
        void (*handler)(int);
        unsigned long flags;
        void (*restorer)();
        uint64_t mask;
    } const default_action{SIG_DFL, 0, nullptr, 0};
    for (int sig = 1; sig <= 64; ++sig)
        if (sig != SIGKILL && sig != SIGSTOP)
            ::syscall(SYS_rt_sigaction, sig, &default_action, nullptr, sizeof(uint64_t));
    ::sigprocmask(SIG_SETMASK, &signal_mask, nullptr);
    if (load_seccomp && process.no_new_privileges) load_seccomp();
    ::execve(executable.c_str(), argv.data(), envp.data());
    throw_errno("exec", executable);
}

void add_home_if_missing(std::vector<std::string>& env, uid_t uid) {
    if (env_lookup(env, "HOME")) return;
    std::string home = "/";
    if (auto passwd = read_file_if_exists("/etc/passwd")) {
        for (const auto& line : split(*passwd, '\n')) {
            auto fields = split(line, ':');
            if (fields.size() >= 6 && parse_uint64(fields[2]) == uid) {
                home = fields[5];
                break;
            }
        }
    }
    env_set(env, "HOME", home);
}

}  // namespace berth::runtime
