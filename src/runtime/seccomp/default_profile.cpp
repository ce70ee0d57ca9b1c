#include "runtime/seccomp/default_profile.hpp"

#include <sched.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/utsname.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "common/strings.hpp"

namespace berth::runtime::seccomp {
namespace {

// The profile is kept as C++ tables rather than as embedded JSON: `berth run` expands it for
// every container, and tables need no parsing, cannot be malformed at run time and are checked
// by the compiler. The layout follows moby's default.json group by group (same order, same
// conditions) so that an update is a side-by-side edit; tests/unit/seccomp_test.cpp checks the
// expansion against a copy of the upstream file.

using Op = oci::SeccompArgOp;

struct Arg {
    unsigned index = 0;
    uint64_t value = 0;
    uint64_t value_two = 0;
    Op op = Op::equal_to;
};

struct KernelVersion {
    unsigned major = 0;
    unsigned minor = 0;
};

// moby's "includes"/"excludes" filter. Lists are space-separated.
struct Condition {
    std::string_view caps;
    std::string_view arches;
    std::optional<KernelVersion> min_kernel;
};

struct Group {
    std::string_view names;  // space-separated
    std::string_view action = "SCMP_ACT_ALLOW";
    std::optional<uint32_t> errno_ret;
    std::span<const Arg> args;
    Condition includes;
    Condition excludes;

    constexpr explicit Group(std::string_view syscall_names) : names(syscall_names) {}
    // Modifiers, so that the table below reads like moby's JSON.
    constexpr Group with_args(std::span<const Arg> a) const {
        Group g = *this;
        g.args = a;
        return g;
    }
    constexpr Group returning_errno(uint32_t e) const {
        Group g = *this;
        g.action = "SCMP_ACT_ERRNO";
        g.errno_ret = e;
        return g;
    }
    constexpr Group if_caps(std::string_view c) const {
        Group g = *this;
        g.includes.caps = c;
        return g;
    }
    constexpr Group if_arches(std::string_view a) const {
        Group g = *this;
        g.includes.arches = a;
        return g;
    }
    constexpr Group if_kernel(unsigned major, unsigned minor) const {
        Group g = *this;
        g.includes.min_kernel = KernelVersion{major, minor};
        return g;
    }
    constexpr Group unless_caps(std::string_view c) const {
        Group g = *this;
        g.excludes.caps = c;
        return g;
    }
    constexpr Group unless_arches(std::string_view a) const {
        Group g = *this;
        g.excludes.arches = a;
        return g;
    }
};

// socket(2) is allowed for every address family but AF_ALG (kernel crypto) and AF_VSOCK
// (host <-> guest).
constexpr uint64_t kAfAlg = AF_ALG;
constexpr uint64_t kAfVsock = AF_VSOCK;
static_assert(kAfAlg == 38 && kAfVsock == 40);

constexpr uint64_t kPersonalityQuery = 0xffffffff;
constexpr uint64_t kNamespaceCloneFlags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS |
                                          CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
                                          CLONE_NEWNET;
static_assert(kNamespaceCloneFlags == 2114060288);

constexpr std::array kSocketBelowAlg = {Arg{0, kAfAlg, 0, Op::less_than}};
constexpr std::array kSocketBetweenAlgAndVsock = {Arg{0, kAfAlg + 1, 0, Op::equal_to}};
constexpr std::array kSocketAboveVsock = {Arg{0, kAfVsock, 0, Op::greater_than}};
constexpr std::array kPersonalityLinux = {Arg{0, PER_LINUX, 0, Op::equal_to}};
constexpr std::array kPersonalityLinux32 = {Arg{0, PER_LINUX32, 0, Op::equal_to}};
constexpr std::array kPersonalityUname26 = {Arg{0, UNAME26, 0, Op::equal_to}};
constexpr std::array kPersonalityLinux32Uname26 = {
    Arg{0, uint64_t{UNAME26} | uint64_t{PER_LINUX32}, 0, Op::equal_to}};
constexpr std::array kPersonalityQueryOnly = {Arg{0, kPersonalityQuery, 0, Op::equal_to}};
// clone(flags, ...) without any CLONE_NEW* flag; s390 passes the flags second.
constexpr std::array kCloneNoNamespaces = {Arg{0, kNamespaceCloneFlags, 0, Op::masked_equal}};
constexpr std::array kCloneNoNamespacesS390 = {Arg{1, kNamespaceCloneFlags, 0, Op::masked_equal}};

constexpr std::string_view kAllowed =
    "accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod "
    "chown chown32 clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 "
    "clock_gettime clock_gettime64 clock_nanosleep clock_nanosleep_time64 close close_range "
    "connect copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl "
    "epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 "
    "execve execveat exit exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate "
    "fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64 "
    "fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64 "
    "fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_requeue "
    "futex_time64 futex_wait futex_waitv futex_wake futimesat getcpu getcwd getdents "
    "getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 "
    "getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid "
    "getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage getsid "
    "getsockname getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr "
    "getxattrat inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel "
    "ioctl io_destroy io_getevents io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set "
    "io_setup io_submit ipc kill landlock_add_rule landlock_create_ruleset "
    "landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listmount "
    "listxattr listxattrat llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64 "
    "madvise map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir mkdirat "
    "mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify "
    "mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 "
    "mq_unlink mremap mseal msgctl msgget msgrcv msgsnd msync munlock munlockall munmap "
    "name_to_handle_at nanosleep newfstatat _newselect open openat openat2 pause pidfd_open "
    "pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll "
    "ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6 "
    "pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv "
    "recv recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr "
    "removexattrat rename renameat renameat2 restart_syscall riscv_hwprobe rmdir rseq "
    "rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend "
    "rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity "
    "sched_getattr sched_getparam sched_get_priority_max sched_get_priority_min "
    "sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64 "
    "sched_setaffinity sched_setattr sched_setparam sched_setscheduler sched_yield seccomp "
    "select semctl semget semop semtimedop semtimedop_time64 send sendfile sendfile64 "
    "sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 "
    "setgroups setgroups32 setitimer setpgid setpriority setregid setregid32 setresgid "
    "setresgid32 setresuid setresuid32 setreuid setreuid32 setrlimit set_robust_list setsid "
    "setsockopt set_thread_area set_tid_address setuid setuid32 setxattr setxattrat shmat "
    "shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn "
    "socketcall socketpair splice stat stat64 statfs statfs64 statmount statx symlink "
    "symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create "
    "timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime "
    "timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime "
    "timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink "
    "unlinkat uretprobe utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid "
    "waitpid write writev";

constexpr std::array kGroups = {
    Group(kAllowed),
    Group("process_vm_readv process_vm_writev ptrace").if_kernel(4, 8),
    Group("socket").with_args(kSocketBelowAlg),
    Group("socket").with_args(kSocketBetweenAlgAndVsock),
    Group("socket").with_args(kSocketAboveVsock),
    Group("personality").with_args(kPersonalityLinux),
    Group("personality").with_args(kPersonalityLinux32),
    Group("personality").with_args(kPersonalityUname26),
    Group("personality").with_args(kPersonalityLinux32Uname26),
    Group("personality").with_args(kPersonalityQueryOnly),
    Group("sync_file_range2 swapcontext").if_arches("ppc64le"),
    Group("arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls")
        .if_arches("arm arm64"),
    Group("arch_prctl").if_arches("amd64 x32"),
    Group("modify_ldt").if_arches("amd64 x32 x86"),
    Group("s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr").if_arches("s390 s390x"),
    Group("riscv_flush_icache").if_arches("riscv64"),
    Group("open_by_handle_at").if_caps("CAP_DAC_READ_SEARCH"),
    Group("bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie "
          "lsm_get_self_attr lsm_list_modules lsm_set_self_attr mount mount_setattr move_mount "
          "open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns syslog "
          "umount umount2 unshare")
        .if_caps("CAP_SYS_ADMIN"),
    Group("clone")
        .with_args(kCloneNoNamespaces)
        .unless_caps("CAP_SYS_ADMIN")
        .unless_arches("s390 s390x"),
    Group("clone")
        .with_args(kCloneNoNamespacesS390)
        .if_arches("s390 s390x")
        .unless_caps("CAP_SYS_ADMIN"),
    // Without CAP_SYS_ADMIN clone3 fails with ENOSYS, so that libc falls back to clone(2),
    // whose flags the rules above can inspect (clone3 passes them in memory).
    Group("clone3").returning_errno(ENOSYS).unless_caps("CAP_SYS_ADMIN"),
    Group("reboot").if_caps("CAP_SYS_BOOT"),
    Group("chroot").if_caps("CAP_SYS_CHROOT"),
    Group("delete_module init_module finit_module").if_caps("CAP_SYS_MODULE"),
    Group("acct").if_caps("CAP_SYS_PACCT"),
    Group("kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace")
        .if_caps("CAP_SYS_PTRACE"),
    Group("iopl ioperm").if_caps("CAP_SYS_RAWIO"),
    Group("settimeofday stime clock_settime clock_settime64").if_caps("CAP_SYS_TIME"),
    Group("vhangup").if_caps("CAP_SYS_TTY_CONFIG"),
    Group("get_mempolicy mbind set_mempolicy set_mempolicy_home_node").if_caps("CAP_SYS_NICE"),
    Group("syslog").if_caps("CAP_SYSLOG"),
    Group("bpf").if_caps("CAP_BPF"),
    Group("perf_event_open").if_caps("CAP_PERFMON"),
};

// moby's archMap: a native architecture and the ones whose binaries it also runs.
struct ArchFamily {
    std::string_view arch;
    std::string_view sub_arches;  // space-separated
};

constexpr std::array kArchMap = {
    ArchFamily{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86 SCMP_ARCH_X32"},
    ArchFamily{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"},
    ArchFamily{"SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS SCMP_ARCH_MIPS64N32"},
    ArchFamily{"SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPS SCMP_ARCH_MIPS64"},
    ArchFamily{"SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL SCMP_ARCH_MIPSEL64N32"},
    ArchFamily{"SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_MIPSEL SCMP_ARCH_MIPSEL64"},
    ArchFamily{"SCMP_ARCH_S390X", "SCMP_ARCH_S390"},
    ArchFamily{"SCMP_ARCH_RISCV64", ""},
    ArchFamily{"SCMP_ARCH_LOONGARCH64", ""},
};

// The profile's architecture names -> SCMP_ARCH_* (moby's nativeToSeccomp).
constexpr std::array<std::pair<std::string_view, std::string_view>, 16> kNativeArchs = {{
    {"x86", "SCMP_ARCH_X86"},
    {"amd64", "SCMP_ARCH_X86_64"},
    {"arm", "SCMP_ARCH_ARM"},
    {"arm64", "SCMP_ARCH_AARCH64"},
    {"loong64", "SCMP_ARCH_LOONGARCH64"},
    {"mips64", "SCMP_ARCH_MIPS64"},
    {"mips64n32", "SCMP_ARCH_MIPS64N32"},
    {"mipsel64", "SCMP_ARCH_MIPSEL64"},
    {"mipsel64n32", "SCMP_ARCH_MIPSEL64N32"},
    {"mipsle", "SCMP_ARCH_MIPSEL"},
    {"ppc", "SCMP_ARCH_PPC"},
    {"ppc64", "SCMP_ARCH_PPC64"},
    {"ppc64le", "SCMP_ARCH_PPC64LE"},
    {"riscv64", "SCMP_ARCH_RISCV64"},
    {"s390", "SCMP_ARCH_S390"},
    {"s390x", "SCMP_ARCH_S390X"},
}};

constexpr std::string_view kBuildArch =
#if defined(__x86_64__) && defined(__ILP32__)
    "x32";
#elif defined(__x86_64__)
    "amd64";
#elif defined(__i386__)
    "x86";
#elif defined(__aarch64__)
    "arm64";
#elif defined(__arm__)
    "arm";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    "ppc64le";
#elif defined(__powerpc64__)
    "ppc64";
#elif defined(__powerpc__)
    "ppc";
#elif defined(__s390x__)
    "s390x";
#elif defined(__s390__)
    "s390";
#elif defined(__riscv) && __riscv_xlen == 64
    "riscv64";
#elif defined(__loongarch64)
    "loong64";
#elif defined(__mips__) && defined(_ABIN32) && _MIPS_SIM == _ABIN32
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? "mipsel64n32" : "mips64n32";
#elif defined(__mips64)
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? "mipsel64" : "mips64";
#elif defined(__mips__)
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? "mipsle" : "mips";
#else
    "";
#endif

// Calls f(word) for each word of a space-separated list.
template <class F>
void for_each_word(std::string_view list, F&& f) {
    while (!list.empty()) {
        size_t end = list.find(' ');
        std::string_view word = list.substr(0, end);
        if (!word.empty()) f(word);
        if (end == std::string_view::npos) break;
        list.remove_prefix(end + 1);
    }
}

bool list_contains(std::string_view list, std::string_view word) {
    bool found = false;
    for_each_word(list, [&](std::string_view w) { found = found || w == word; });
    return found;
}

bool has_cap(const std::vector<std::string>& caps, std::string_view cap) {
    return std::find(caps.begin(), caps.end(), cap) != caps.end();
}

bool kernel_at_least(const ProfileHost& host, KernelVersion version) {
    return host.kernel_major != version.major ? host.kernel_major > version.major
                                              : host.kernel_minor >= version.minor;
}

// moby's setupSeccomp: excluded when any exclude condition holds, included when every include
// condition holds.
bool applies(const Group& group, const std::vector<std::string>& caps, const ProfileHost& host) {
    const Condition& ex = group.excludes;
    if (!ex.arches.empty() && list_contains(ex.arches, host.arch)) return false;
    bool excluded_by_cap = false;
    for_each_word(ex.caps, [&](std::string_view cap) {
        excluded_by_cap = excluded_by_cap || has_cap(caps, cap);
    });
    if (excluded_by_cap) return false;
    if (ex.min_kernel && kernel_at_least(host, *ex.min_kernel)) return false;

    const Condition& in = group.includes;
    if (!in.arches.empty() && !list_contains(in.arches, host.arch)) return false;
    bool missing_cap = false;
    for_each_word(in.caps,
                  [&](std::string_view cap) { missing_cap = missing_cap || !has_cap(caps, cap); });
    if (missing_cap) return false;
    if (in.min_kernel && !kernel_at_least(host, *in.min_kernel)) return false;
    return true;
}

std::vector<std::string> architectures_for(std::string_view host_arch) {
    std::vector<std::string> out;
    auto native = std::find_if(kNativeArchs.begin(), kNativeArchs.end(),
                               [&](const auto& entry) { return entry.first == host_arch; });
    if (native == kNativeArchs.end()) return out;
    for (const ArchFamily& family : kArchMap) {
        if (family.arch != native->second) continue;
        out.emplace_back(family.arch);
        for_each_word(family.sub_arches, [&](std::string_view sub) { out.emplace_back(sub); });
        break;
    }
    return out;
}

}  // namespace

bool docker_rule_applies(const RuleCondition& includes, const RuleCondition& excludes,
                         const std::vector<std::string>& capabilities, const ProfileHost& host) {
    auto words = [](const std::vector<std::string>& list) {
        std::string out;
        for (const auto& w : list)
            out += (out.empty() ? "" : " ") + w;
        return out;
    };
    auto kernel = [](const std::string& text) -> std::optional<KernelVersion> {
        if (text.empty()) return std::nullopt;
        size_t dot = text.find('.');
        auto major = parse_uint64(text.substr(0, dot));
        auto minor = dot == std::string::npos ? std::optional<uint64_t>(0)
                                              : parse_uint64(text.substr(dot + 1));
        if (!major || !minor) return std::nullopt;
        return KernelVersion{static_cast<unsigned>(*major), static_cast<unsigned>(*minor)};
    };
    const std::string in_caps = words(includes.caps), in_arches = words(includes.arches);
    const std::string ex_caps = words(excludes.caps), ex_arches = words(excludes.arches);
    Group group("");
    group.includes = {in_caps, in_arches, kernel(includes.min_kernel)};
    group.excludes = {ex_caps, ex_arches, kernel(excludes.min_kernel)};
    return applies(group, capabilities, host);
}

ProfileHost ProfileHost::current() {
    ProfileHost host;
    host.arch = kBuildArch;
    utsname uts{};
    if (::uname(&uts) == 0) {
        // "6.1.0-18-amd64" -> 6, 1; distribution suffixes and the patch level do not count.
        std::vector<std::string> parts = split(uts.release, '.');
        if (parts.size() >= 2) {
            std::string minor = parts[1].substr(0, parts[1].find_first_not_of("0123456789"));
            auto major_value = parse_uint64(parts[0]);
            auto minor_value = parse_uint64(minor);
            if (major_value && minor_value) {
                host.kernel_major = static_cast<unsigned>(*major_value);
                host.kernel_minor = static_cast<unsigned>(*minor_value);
            }
        }
    }
    return host;
}

oci::Seccomp docker_default_profile(const std::vector<std::string>& capabilities,
                                    const ProfileHost& host) {
    oci::Seccomp profile;
    profile.default_action = "SCMP_ACT_ERRNO";
    profile.default_errno_ret = EPERM;
    profile.architectures = architectures_for(host.arch);
    profile.syscalls.reserve(kGroups.size());
    for (const Group& group : kGroups) {
        if (!applies(group, capabilities, host)) continue;
        oci::SeccompRule rule;
        for_each_word(group.names, [&](std::string_view name) { rule.names.emplace_back(name); });
        rule.action = group.action;
        rule.errno_ret = group.errno_ret;
        for (const Arg& arg : group.args)
            rule.args.push_back(oci::SeccompArg{arg.index, arg.value, arg.value_two, arg.op});
        profile.syscalls.push_back(std::move(rule));
    }
    return profile;
}

}  // namespace berth::runtime::seccomp
