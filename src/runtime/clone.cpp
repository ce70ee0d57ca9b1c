#include "runtime/clone.hpp"

#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "common/error.hpp"

namespace berth::runtime {

pid_t clone_process(int namespace_flags, int cgroup_dir, bool* into_cgroup) {
    *into_cgroup = false;
    if (cgroup_dir >= 0) {
        clone_args args{};
        args.flags =
            static_cast<uint64_t>(static_cast<unsigned>(namespace_flags)) | CLONE_INTO_CGROUP;
        args.exit_signal = SIGCHLD;
        args.cgroup = static_cast<uint64_t>(cgroup_dir);
        long pid = ::syscall(SYS_clone3, &args, sizeof args);
        if (pid >= 0) {
            *into_cgroup = pid > 0;
            return static_cast<pid_t>(pid);
        }
        if (errno != ENOSYS && errno != E2BIG) throw_errno("clone3 into the container's cgroup");
    }
    return static_cast<pid_t>(
        ::syscall(SYS_clone, namespace_flags | SIGCHLD, nullptr, nullptr, nullptr, 0));
}

pid_t clone_into_cgroups(cgroup::Manager& cgroups, int namespace_flags) {
    UniqueFd unified = cgroups.open_unified_dir();
    cgroups.enter_v1();
    bool into_cgroup = false;
    pid_t pid;
    try {
        pid = clone_process(namespace_flags, unified.get(), &into_cgroup);
    } catch (...) {
        cgroups.leave_v1();
        throw;
    }
    if (pid == 0) return 0;
    int saved = errno;
    cgroups.leave_v1();
    if (pid < 0) throw_system_error(saved, "clone the container process");
    if (unified && !into_cgroup) cgroups.add_process(pid);
    return pid;
}

}  // namespace berth::runtime
