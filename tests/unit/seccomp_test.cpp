#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/json_reader.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"
#include "oci/default_spec.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/seccomp/default_profile.hpp"
#include "runtime/seccomp/seccomp.hpp"

using namespace berth;
namespace sc = berth::runtime::seccomp;
using nlohmann::json;

namespace {

// linux.seccomp through the real config.json parser.
oci::Seccomp parse(const json& seccomp) {
    json doc = json::parse(oci::default_spec({}).dump());
    doc["linux"]["seccomp"] = seccomp;
    oci::Spec spec = oci::parse_spec(doc);
    return *spec.linux.seccomp;
}

json rule(const std::vector<std::string>& names, const std::string& action) {
    return json{{"names", names}, {"action", action}};
}

// validate() and compile() must both reject config, naming field first.
void expect_invalid(const oci::Seccomp& config, const std::string& field,
                    const std::string& why = {}) {
    for (bool compiling : {false, true}) {
        try {
            if (compiling) {
                (void)sc::compile(config);
            } else {
                sc::validate(config);
            }
            ADD_FAILURE() << (compiling ? "compile" : "validate")
                          << " accepted a profile that should be rejected at " << field;
        } catch (const InvalidDocument& e) {
            std::string message = e.what();
            EXPECT_EQ(message.rfind(field + ": ", 0), 0U) << message;
            EXPECT_NE(message.find(why), std::string::npos) << message;
        }
    }
}

// Redirects fd 2 (where berth::log writes without a log file) into memory.
class StderrCapture {
  public:
    StderrCapture() : file_(::memfd_create("stderr", MFD_CLOEXEC)), saved_(::dup(STDERR_FILENO)) {
        ::dup2(file_.get(), STDERR_FILENO);
    }
    StderrCapture(const StderrCapture&) = delete;
    StderrCapture& operator=(const StderrCapture&) = delete;
    ~StderrCapture() { restore(); }

    std::string text() {
        restore();
        ::lseek(file_.get(), 0, SEEK_SET);
        return read_fd(file_.get(), "captured stderr");
    }

  private:
    void restore() {
        if (saved_) ::dup2(saved_.get(), STDERR_FILENO);
        saved_.reset();
    }
    UniqueFd file_;
    UniqueFd saved_;
};

constexpr int kLoadFailed = 120;

// Forks a child that sets no_new_privs, loads filter and exits with body's result (0: all
// checks passed, otherwise the number of the failed check). Returns the wait status.
int run_filtered(const sc::Filter* filter, const std::function<int()>& body,
                 bool no_new_privs = true) {
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
        ::prctl(PR_SET_DUMPABLE, 0);  // SIGSYS must not leave core files behind
        rlimit no_core{0, 0};
        ::setrlimit(RLIMIT_CORE, &no_core);
        if (no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(kLoadFailed);
        if (filter != nullptr) {
            try {
                filter->load();
            } catch (...) {
                ::_exit(kLoadFailed);
            }
        }
        // The raw exit_group: sanitizers intercept _exit() to do work (leak checks) with
        // syscalls the filter may refuse.
        ::syscall(SYS_exit_group, body());
        ::_exit(kLoadFailed);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) throw_errno("waitpid");
    return status;
}

std::string describe(int status) {
    if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return std::string("signal ") + strsignal(WTERMSIG(status));
    return "status " + std::to_string(status);
}

::testing::AssertionResult exited_ok(int status) {
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "child: " << describe(status);
}

::testing::AssertionResult killed_by(int status, int signal) {
    if (WIFSIGNALED(status) && WTERMSIG(status) == signal) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "child: " << describe(status);
}

// True when a raw syscall result is a failure with errno `expected`.
bool fails_with(long rc, int expected) {
    return rc == -1 && errno == expected;
}

const std::vector<std::string> kDockerDefaultCaps = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE"};

const sc::ProfileHost kAmd64{"amd64", 6, 1};

}  // namespace

// ---- validate(): errors name the field ------------------------------------------------------

TEST(SeccompValidate, AcceptsAWellFormedProfile) {
    oci::Seccomp config =
        parse({{"defaultAction", "SCMP_ACT_ERRNO"},
               {"defaultErrnoRet", 38},
               {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}},
               {"syscalls",
                {rule({"read", "write"}, "SCMP_ACT_ALLOW"),
                 {{"names", {"personality"}},
                  {"action", "SCMP_ACT_ALLOW"},
                  {"args", {{{"index", 0}, {"value", 8}, {"op", "SCMP_CMP_EQ"}}}}}}}});
    EXPECT_NO_THROW(sc::validate(config));
}

TEST(SeccompValidate, ErrnoRetOutOfRange) {
    expect_invalid(
        parse({{"defaultAction", "SCMP_ACT_ALLOW"},
               {"syscalls",
                {rule({"read"}, "SCMP_ACT_LOG"),
                 {{"names", {"getcwd"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 5000}}}}}),
        "linux.seccomp.syscalls[1].errnoRet", "out of range [0, 4095]");
    expect_invalid(
        parse({{"defaultAction", "SCMP_ACT_ALLOW"},
               {"syscalls",
                {{{"names", {"getcwd"}}, {"action", "SCMP_ACT_TRACE"}, {"errnoRet", 70000}}}}}),
        "linux.seccomp.syscalls[0].errnoRet", "out of range [0, 65535]");
    expect_invalid(parse({{"defaultAction", "SCMP_ACT_ERRNO"}, {"defaultErrnoRet", 4096}}),
                   "linux.seccomp.defaultErrnoRet", "out of range");
}

TEST(SeccompValidate, ErrnoRetOnlyWithErrnoOrTrace) {
    expect_invalid(
        parse(
            {{"defaultAction", "SCMP_ACT_ERRNO"},
             {"syscalls", {{{"names", {"read"}}, {"action", "SCMP_ACT_ALLOW"}, {"errnoRet", 1}}}}}),
        "linux.seccomp.syscalls[0].errnoRet", "only valid with");
    expect_invalid(parse({{"defaultAction", "SCMP_ACT_ALLOW"}, {"defaultErrnoRet", 1}}),
                   "linux.seccomp.defaultErrnoRet", "SCMP_ACT_ALLOW returns no errno");
}

TEST(SeccompValidate, FlagsAndArchitectures) {
    expect_invalid(
        parse({{"defaultAction", "SCMP_ACT_ALLOW"},
               {"flags", {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"}}}),
        "linux.seccomp.flags[1]", "not supported");
#ifndef SCMP_ARCH_LOONGARCH64  // libseccomp < 2.6
    expect_invalid(parse({{"defaultAction", "SCMP_ACT_ALLOW"},
                          {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_LOONGARCH64"}}}),
                   "linux.seccomp.architectures[1]", "not supported by libseccomp");
#endif
    // libseccomp keeps one byte order per filter.
    const bool native_little_endian = (seccomp_arch_native() & 0x40000000U) != 0;
    expect_invalid(
        parse({{"defaultAction", "SCMP_ACT_ALLOW"},
               {"architectures", {native_little_endian ? "SCMP_ARCH_S390X" : "SCMP_ARCH_X86_64"}}}),
        "linux.seccomp.architectures[0]", "cannot share a filter");
}

TEST(SeccompValidate, NamesAndArguments) {
    expect_invalid(parse({{"defaultAction", "SCMP_ACT_ALLOW"},
                          {"syscalls", {rule({"getcwd", ""}, "SCMP_ACT_ERRNO")}}}),
                   "linux.seccomp.syscalls[0].names[1]", "empty syscall name");

    // What parse_spec cannot produce but a caller building the struct could.
    oci::Seccomp config;
    config.default_action = "SCMP_ACT_ALLOW";
    config.syscalls.push_back({{"getcwd"}, "SCMP_ACT_ERRNO", std::nullopt, {}});
    config.syscalls.push_back({{"personality"},
                               "SCMP_ACT_ERRNO",
                               std::nullopt,
                               {{6, 1, 0, oci::SeccompArgOp::equal_to}}});
    expect_invalid(config, "linux.seccomp.syscalls[1].args[0].index", "out of range [0, 5]");
    config.syscalls[1].args = {{0, 1, 0, oci::SeccompArgOp::equal_to},
                               {1, 1, 0, static_cast<oci::SeccompArgOp>(42)}};
    expect_invalid(config, "linux.seccomp.syscalls[1].args[1].op", "unknown comparison operator");
    config.syscalls[1].args.clear();
    config.syscalls[1].action = "SCMP_ACT_NOTIFY";
    expect_invalid(config, "linux.seccomp.syscalls[1].action", "needs linux.seccomp.listenerPath");
    config.syscalls[1].action = "SCMP_ACT_BOGUS";
    expect_invalid(config, "linux.seccomp.syscalls[1].action", "unknown seccomp action");
    config.syscalls[1].action = "SCMP_ACT_ERRNO";
    config.syscalls[1].names.clear();
    expect_invalid(config, "linux.seccomp.syscalls[1].names", "at least one");
    config.syscalls.pop_back();
    config.default_action.clear();
    expect_invalid(config, "linux.seccomp.defaultAction", "unknown seccomp action");
}

TEST(SeccompValidate, UnknownSyscallsAreReportedAtDebugLevelAndSkipped) {
    berth::log::configure("", berth::log::Format::text, true);
    oci::Seccomp config =
        parse({{"defaultAction", "SCMP_ACT_ALLOW"},
               {"syscalls",
                {{{"names", {"getcwd", "berth_no_such_syscall"}},
                  {"action", "SCMP_ACT_ERRNO"},
                  {"errnoRet", ENOSYS}},
                 rule({"berth_other_unknown", "berth_no_such_syscall"}, "SCMP_ACT_KILL")}}});
    StderrCapture capture;
    sc::validate(config);
    std::string warning = capture.text();
    EXPECT_NE(
        warning.find("debug: linux.seccomp.syscalls: skipping syscalls unknown to libseccomp"),
        std::string::npos)
        << warning;
    EXPECT_NE(warning.find("berth_no_such_syscall, berth_other_unknown"), std::string::npos)
        << warning;
    EXPECT_EQ(std::count(warning.begin(), warning.end(), '\n'), 1) << warning;

    StderrCapture capture_compile;
    sc::Filter filter = sc::compile(config);
    EXPECT_NE(capture_compile.text().find("berth_no_such_syscall"), std::string::npos);
    // The known name of the rule still applies.
    EXPECT_TRUE(exited_ok(run_filtered(&filter, [] {
        char buf[256];
        return fails_with(::syscall(SYS_getcwd, buf, sizeof buf), ENOSYS) ? 0 : 1;
    })));
    berth::log::configure("", berth::log::Format::text, false);
}

TEST(SeccompValidate, MaskThatCanNeverMatchWarns) {
    oci::Seccomp config = parse({{"defaultAction", "SCMP_ACT_ALLOW"},
                                 {"syscalls",
                                  {{{"names", {"eventfd2"}},
                                    {"action", "SCMP_ACT_ERRNO"},
                                    {"args",
                                     {{{"index", 1},
                                       {"value", 0x800},
                                       {"valueTwo", 0x80800},
                                       {"op", "SCMP_CMP_MASKED_EQ"}}}}}}}});
    StderrCapture capture;
    sc::validate(config);
    EXPECT_NE(capture.text().find(
                  "linux.seccomp.syscalls[0].args[0]: SCMP_CMP_MASKED_EQ can never match"),
              std::string::npos);
}

// ---- compile(): BPF ----------------------------------------------------------------------

TEST(SeccompCompile, DockerDefaultProfileProducesTheExportedProgram) {
    sc::Filter filter = sc::compile(sc::docker_default_profile(kDockerDefaultCaps));
    ASSERT_FALSE(filter.program().empty());
    EXPECT_LE(filter.program().size(), static_cast<size_t>(BPF_MAXINSNS));
    EXPECT_EQ(filter.load_flags(), 0U);

    UniqueFd fd(::memfd_create("bpf", MFD_CLOEXEC));
    ASSERT_TRUE(fd);
    ASSERT_EQ(seccomp_export_bpf(filter.context(), fd.get()), 0);
    ::lseek(fd.get(), 0, SEEK_SET);
    std::string exported = read_fd(fd.get(), "bpf");
    ASSERT_FALSE(exported.empty());
    ASSERT_EQ(exported.size(), filter.program().size_bytes());
    EXPECT_EQ(std::memcmp(exported.data(), filter.program().data(), exported.size()), 0);
}

TEST(SeccompCompile, FlagsBecomeLoadFlags) {
    oci::Seccomp config =
        parse({{"defaultAction", "SCMP_ACT_ALLOW"},
               {"flags", {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_TSYNC"}}});
    if (seccomp_api_get() < 3) GTEST_SKIP() << "kernel lacks SECCOMP_FILTER_FLAG_LOG";
    sc::Filter filter = sc::compile(config);
    EXPECT_EQ(filter.load_flags(), SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_TSYNC);
    uint32_t value = 0;
    ASSERT_EQ(seccomp_attr_get(filter.context(), SCMP_FLTATR_CTL_LOG, &value), 0);
    EXPECT_EQ(value, 1U);
    ASSERT_EQ(seccomp_attr_get(filter.context(), SCMP_FLTATR_CTL_NNP, &value), 0);
    EXPECT_EQ(value, 0U);
}

TEST(SeccompCompile, RuleRepeatingTheDefaultActionIsSkipped) {
    // libseccomp refuses such a rule (EACCES); compile() leaves it out.
    oci::Seccomp config =
        parse({{"defaultAction", "SCMP_ACT_ERRNO"},
               {"syscalls",
                {rule({"exit_group", "getpid"}, "SCMP_ACT_ALLOW"),
                 rule({"getppid"}, "SCMP_ACT_ERRNO"),
                 {{"names", {"getuid"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}},
                 {{"names", {"getgid"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 2}}}}});
    sc::Filter filter = sc::compile(config);
    EXPECT_TRUE(exited_ok(run_filtered(&filter, [] {
        if (::syscall(SYS_getpid) <= 0) return 1;
        if (!fails_with(::syscall(SYS_getppid), EPERM)) return 2;
        if (!fails_with(::syscall(SYS_getuid), EPERM)) return 3;
        if (!fails_with(::syscall(SYS_getgid), ENOENT)) return 4;
        return 0;
    })));
}

// ---- load(): real behaviour in a child -----------------------------------------------------

TEST(SeccompLoad, DeniedSyscallsReturnTheirErrnoRet) {
    oci::Seccomp config = parse({{"defaultAction", "SCMP_ACT_ALLOW"},
                                 {"syscalls",
                                  {{{"names", {"getcwd", "mkdir", "mkdirat"}},
                                    {"action", "SCMP_ACT_ERRNO"},
                                    {"errnoRet", 38}},
                                   rule({"getppid"}, "SCMP_ACT_ERRNO")}}});
    sc::Filter filter = sc::compile(config);
    EXPECT_TRUE(exited_ok(run_filtered(&filter, [] {
        char buf[256];
        if (!fails_with(::syscall(SYS_getcwd, buf, sizeof buf), ENOSYS)) return 1;
        if (!fails_with(::mkdir("/berth-no-such-dir/x", 0700), ENOSYS)) return 2;
        if (!fails_with(::syscall(SYS_getppid), EPERM)) return 3;            // no errnoRet: EPERM
        if (!fails_with(::rmdir("/berth-no-such-dir/x"), ENOENT)) return 4;  // unlisted
        return 0;
    })));
}

TEST(SeccompLoad, DefaultErrnoRetAppliesToUnlistedSyscalls) {
    oci::Seccomp config =
        parse({{"defaultAction", "SCMP_ACT_ERRNO"},
               {"defaultErrnoRet", EOPNOTSUPP},
               {"syscalls", {rule({"exit_group", "exit", "getpid"}, "SCMP_ACT_ALLOW")}}});
    sc::Filter filter = sc::compile(config);
    EXPECT_TRUE(exited_ok(run_filtered(&filter, [] {
        char buf[256];
        if (::syscall(SYS_getpid) <= 0) return 1;
        if (!fails_with(::syscall(SYS_getppid), EOPNOTSUPP)) return 2;
        if (!fails_with(::syscall(SYS_getcwd, buf, sizeof buf), EOPNOTSUPP)) return 3;
        return 0;
    })));
}

TEST(SeccompLoad, ArgumentComparisons) {
    // personality only to query; eventfd2 only with EFD_CLOEXEC and without EFD_NONBLOCK.
    oci::Seccomp config = parse(
        {{"defaultAction", "SCMP_ACT_ERRNO"},
         {"syscalls",
          {rule({"exit_group", "exit", "close"}, "SCMP_ACT_ALLOW"),
           {{"names", {"personality"}},
            {"action", "SCMP_ACT_ALLOW"},
            {"args", {{{"index", 0}, {"value", 0xffffffffU}, {"op", "SCMP_CMP_EQ"}}}}},
           {{"names", {"eventfd2"}},
            {"action", "SCMP_ACT_ALLOW"},
            {"args",
             {{{"index", 1},
               {"value", EFD_NONBLOCK | EFD_CLOEXEC},
               {"valueTwo", EFD_CLOEXEC},
               {"op", "SCMP_CMP_MASKED_EQ"}}}}},
           {{"names", {"getpriority"}},
            {"action", "SCMP_ACT_ALLOW"},
            {"args",
             {{{"index", 0}, {"value", static_cast<int>(PRIO_PROCESS)}, {"op", "SCMP_CMP_EQ"}},
              {{"index", 1}, {"value", 0}, {"op", "SCMP_CMP_EQ"}}}}}}}});
    sc::Filter filter = sc::compile(config);
    EXPECT_TRUE(exited_ok(run_filtered(&filter, [] {
        if (::syscall(SYS_personality, 0xffffffffUL) < 0) return 1;
        if (!fails_with(::syscall(SYS_personality, PER_LINUX32), EPERM)) return 2;
        if (::syscall(SYS_eventfd2, 0, EFD_CLOEXEC) < 0) return 3;
        if (!fails_with(::syscall(SYS_eventfd2, 0, EFD_CLOEXEC | EFD_NONBLOCK), EPERM)) return 4;
        if (!fails_with(::syscall(SYS_eventfd2, 0, 0), EPERM)) return 5;
        // Two arguments in one rule: both must match.
        if (::syscall(SYS_getpriority, PRIO_PROCESS, 0) < 0) return 6;
        if (!fails_with(::syscall(SYS_getpriority, PRIO_PROCESS, 1), EPERM)) return 7;
        if (!fails_with(::syscall(SYS_getpriority, PRIO_PGRP, 0), EPERM)) return 8;
        return 0;
    })));
}

TEST(SeccompLoad, RepeatedArgumentIndexBecomesSeparateRules) {
    // libseccomp refuses one rule comparing argument 0 twice; like runc, each comparison becomes
    // its own rule, so either value is allowed.
    oci::Seccomp config =
        parse({{"defaultAction", "SCMP_ACT_ALLOW"},
               {"syscalls",
                {{{"names", {"personality"}},
                  {"action", "SCMP_ACT_ERRNO"},
                  {"errnoRet", EACCES},
                  {"args",
                   {{{"index", 0}, {"value", PER_LINUX32}, {"op", "SCMP_CMP_EQ"}},
                    {{"index", 0}, {"value", UNAME26}, {"op", "SCMP_CMP_EQ"}}}}}}}});
    sc::Filter filter = sc::compile(config);
    EXPECT_TRUE(exited_ok(run_filtered(&filter, [] {
        if (!fails_with(::syscall(SYS_personality, PER_LINUX32), EACCES)) return 1;
        if (!fails_with(::syscall(SYS_personality, UNAME26), EACCES)) return 2;
        if (::syscall(SYS_personality, 0xffffffffUL) < 0) return 3;
        return 0;
    })));
}

TEST(SeccompLoad, KillAndTrapEndTheChildWithSigsys) {
    for (const char* action :
         {"SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP"}) {
        SCOPED_TRACE(action);
        sc::Filter filter = sc::compile(parse(
            {{"defaultAction", "SCMP_ACT_ALLOW"}, {"syscalls", {rule({"getppid"}, action)}}}));
        EXPECT_TRUE(killed_by(run_filtered(&filter,
                                           [] {
                                               ::syscall(SYS_getppid);
                                               return 0;
                                           }),
                              SIGSYS));
    }
}

TEST(SeccompLoad, DefaultKillProcess) {
    sc::Filter filter = sc::compile(
        parse({{"defaultAction", "SCMP_ACT_KILL_PROCESS"},
               {"syscalls", {rule({"exit_group", "exit", "getpid"}, "SCMP_ACT_ALLOW")}}}));
    EXPECT_TRUE(exited_ok(run_filtered(&filter, [] { return ::syscall(SYS_getpid) > 0 ? 0 : 1; })));
    EXPECT_TRUE(killed_by(run_filtered(&filter,
                                       [] {
                                           ::syscall(SYS_getppid);
                                           return 0;
                                       }),
                          SIGSYS));
}

TEST(SeccompLoad, TraceWithoutTracerAndLog) {
    sc::Filter filter = sc::compile(parse(
        {{"defaultAction", "SCMP_ACT_ALLOW"},
         {"syscalls", {rule({"getppid"}, "SCMP_ACT_TRACE"), rule({"getpid"}, "SCMP_ACT_LOG")}}}));
    EXPECT_TRUE(exited_ok(run_filtered(&filter, [] {
        // Without a tracer the kernel fails a SECCOMP_RET_TRACE syscall with ENOSYS.
        if (!fails_with(::syscall(SYS_getppid), ENOSYS)) return 1;
        if (::syscall(SYS_getpid) <= 0) return 2;
        return 0;
    })));
}

TEST(SeccompLoad, SupportedFlagsLoad) {
    const json features = sc::features();
    for (const auto& flag : features["supportedFlags"]) {
        SCOPED_TRACE(flag.get<std::string>());
        sc::Filter filter =
            sc::compile(parse({{"defaultAction", "SCMP_ACT_ALLOW"},
                               {"flags", {flag}},
                               {"syscalls", {rule({"getcwd"}, "SCMP_ACT_ERRNO")}}}));
        EXPECT_NE(filter.load_flags(), 0U);
        EXPECT_TRUE(exited_ok(run_filtered(&filter, [] {
            char buf[64];
            return fails_with(::syscall(SYS_getcwd, buf, sizeof buf), EPERM) ? 0 : 1;
        })));
    }
}

TEST(SeccompLoad, WithoutNoNewPrivsNeedsCapSysAdmin) {
    sc::Filter filter = sc::compile(parse({{"defaultAction", "SCMP_ACT_ALLOW"}}));
    EXPECT_TRUE(exited_ok(run_filtered(
        nullptr,
        [&] {
            // Root loses its capabilities when it becomes nobody.
            if (::geteuid() == 0 &&
                (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0))
                return 1;
            try {
                filter.load();
            } catch (const SystemError& e) {
                return e.code() == EACCES && std::strstr(e.what(), "no_new_privs") != nullptr ? 0
                                                                                              : 2;
            }
            return 3;
        },
        /*no_new_privs=*/false)));
}

TEST(SeccompLoad, DockerDefaultProfileDeniesEscapesAndRunsPrograms) {
    sc::Filter filter = sc::compile(sc::docker_default_profile(kDockerDefaultCaps));
    EXPECT_TRUE(exited_ok(run_filtered(&filter, [] {
        if (!fails_with(::syscall(SYS_unshare, CLONE_NEWUSER), EPERM)) return 1;
        if (!fails_with(::syscall(SYS_keyctl, 0, 0, 0, 0, 0), EPERM)) return 2;
        if (!fails_with(::syscall(SYS_clone3, nullptr, 0), ENOSYS)) return 3;
        if (!fails_with(::syscall(SYS_socket, AF_VSOCK, SOCK_STREAM, 0), EPERM)) return 4;
        // (Without the filter this fails with ENOENT: nothing is mounted if the filter is wrong.)
        if (!fails_with(::syscall(SYS_mount, "none", "/berth-no-such-dir", "tmpfs", 0, nullptr),
                        EPERM))
            return 5;
        if (!fails_with(::syscall(SYS_personality, PER_BSD), EPERM)) return 6;
        int fd = static_cast<int>(::syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (fd < 0) return 7;
        ::close(fd);
        // fork (clone without namespace flags) and exec work.
        pid_t pid = ::fork();
        if (pid < 0) return 8;
        if (pid == 0) {
            ::execl("/bin/true", "true", static_cast<char*>(nullptr));
            ::_exit(127);
        }
        int status = 0;
        if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            return 9;
        ::execl("/bin/true", "true", static_cast<char*>(nullptr));
        return 10;
    })));
}

TEST(SeccompLoad, DockerDefaultProfileWithCapSysAdminAllowsClone3) {
    std::vector<std::string> caps = kDockerDefaultCaps;
    caps.emplace_back("CAP_SYS_ADMIN");
    sc::Filter filter = sc::compile(sc::docker_default_profile(caps));
    EXPECT_TRUE(exited_ok(run_filtered(&filter, [] {
        // Reaches the kernel, which rejects the zero-sized argument.
        if (!fails_with(::syscall(SYS_clone3, nullptr, 0), EINVAL)) return 1;
        return 0;
    })));
}

// ---- the program cache -------------------------------------------------------------------

namespace {

class SeccompCache : public ::testing::Test {
  protected:
    void SetUp() override {
        char pattern[] = "/tmp/berth-seccomp-test.XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        root_ = pattern;
        options_.cache_dir = root_ + "/cache";
    }
    void TearDown() override {
        for (const std::string& f : entries())
            ::unlink(f.c_str());
        ::rmdir(options_.cache_dir.c_str());
        ::rmdir(root_.c_str());
    }
    [[nodiscard]] std::vector<std::string> entries() const {
        std::vector<std::string> out;
        if (DIR* d = ::opendir(options_.cache_dir.c_str())) {
            while (dirent* e = ::readdir(d))
                if (e->d_name[0] != '.') out.push_back(options_.cache_dir + "/" + e->d_name);
            ::closedir(d);
        }
        return out;
    }
    static void flip_byte(const std::string& path, size_t offset_from_start) {
        std::string data = read_file(path);
        ASSERT_LT(offset_from_start, data.size());
        data[offset_from_start] = static_cast<char>(data[offset_from_start] ^ 0x01);
        write_file(path, data, 0600);
    }

    std::string root_;
    sc::CompileOptions options_;
};

oci::Seccomp getcwd_denied(int errno_ret) {
    return parse(
        {{"defaultAction", "SCMP_ACT_ALLOW"},
         {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}},
         {"syscalls",
          {{{"names", {"getcwd"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", errno_ret}}}}});
}

}  // namespace

TEST_F(SeccompCache, SecondCompileUsesTheStoredProgram) {
    sc::Filter first = sc::compile(getcwd_denied(ENOSYS), options_);
    EXPECT_FALSE(first.from_cache());
    ASSERT_EQ(entries().size(), 1U);
    struct stat st {};
    ASSERT_EQ(::stat(options_.cache_dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700U);

    sc::Filter second = sc::compile(getcwd_denied(ENOSYS), options_);
    EXPECT_TRUE(second.from_cache());
    EXPECT_EQ(second.context(), nullptr);
    ASSERT_EQ(second.program().size_bytes(), first.program().size_bytes());
    EXPECT_EQ(
        std::memcmp(second.program().data(), first.program().data(), first.program().size_bytes()),
        0);
    EXPECT_TRUE(exited_ok(run_filtered(&second, [] {
        char buf[64];
        return fails_with(::syscall(SYS_getcwd, buf, sizeof buf), ENOSYS) ? 0 : 1;
    })));

    // Another profile is another entry.
    sc::Filter other = sc::compile(getcwd_denied(EACCES), options_);
    EXPECT_FALSE(other.from_cache());
    EXPECT_EQ(entries().size(), 2U);
    EXPECT_TRUE(exited_ok(run_filtered(&other, [] {
        char buf[64];
        return fails_with(::syscall(SYS_getcwd, buf, sizeof buf), EACCES) ? 0 : 1;
    })));
}

TEST_F(SeccompCache, DamagedOrForeignEntriesAreMisses) {
    (void)sc::compile(getcwd_denied(ENOSYS), options_);
    ASSERT_EQ(entries().size(), 1U);
    const std::string entry = entries()[0];
    const size_t size = read_file(entry).size();

    flip_byte(entry, 30);  // inside the key
    EXPECT_FALSE(sc::compile(getcwd_denied(ENOSYS), options_).from_cache());
    EXPECT_TRUE(sc::compile(getcwd_denied(ENOSYS), options_).from_cache());  // rewritten

    flip_byte(entry, size - 12);  // inside the program
    EXPECT_FALSE(sc::compile(getcwd_denied(ENOSYS), options_).from_cache());
    EXPECT_TRUE(sc::compile(getcwd_denied(ENOSYS), options_).from_cache());

    // An entry of another profile under this profile's name (a hash collision) is not used.
    sc::Filter other = sc::compile(getcwd_denied(EACCES), options_);
    ASSERT_EQ(entries().size(), 2U);
    const std::string other_entry = entries()[0] == entry ? entries()[1] : entries()[0];
    write_file(entry, read_file(other_entry), 0600);
    sc::Filter again = sc::compile(getcwd_denied(ENOSYS), options_);
    EXPECT_FALSE(again.from_cache());
    EXPECT_TRUE(exited_ok(run_filtered(&again, [] {
        char buf[64];
        return fails_with(::syscall(SYS_getcwd, buf, sizeof buf), ENOSYS) ? 0 : 1;
    })));

    ASSERT_EQ(::chmod(options_.cache_dir.c_str(), 0770), 0);  // others could have written it
    EXPECT_FALSE(sc::compile(getcwd_denied(ENOSYS), options_).from_cache());
    ASSERT_EQ(::chmod(options_.cache_dir.c_str(), 0700), 0);
    ASSERT_EQ(::chmod(entry.c_str(), 0622), 0);
    EXPECT_FALSE(sc::compile(getcwd_denied(ENOSYS), options_).from_cache());
}

TEST_F(SeccompCache, ValidationAndWarningsStillHappen) {
    oci::Seccomp config = getcwd_denied(ENOSYS);
    config.syscalls[0].names.emplace_back("berth_no_such_syscall");
    (void)sc::compile(config, options_);
    berth::log::configure("", berth::log::Format::text, true);
    StderrCapture capture;
    EXPECT_TRUE(sc::compile(config, options_).from_cache());
    EXPECT_NE(capture.text().find("berth_no_such_syscall"), std::string::npos);
    berth::log::configure("", berth::log::Format::text, false);
    config.syscalls[0].errno_ret = 5000;
    expect_invalid(config, "linux.seccomp.syscalls[0].errnoRet", "out of range");
}

// ---- features() ----------------------------------------------------------------------------

TEST(SeccompFeatures, DescribesWhatIsSupported) {
    json f = sc::features();
    EXPECT_EQ(f["enabled"], true);
    auto has = [&](const char* key, const char* value) {
        const json& list = f[key];
        return std::find(list.begin(), list.end(), value) != list.end();
    };
    EXPECT_TRUE(has("actions", "SCMP_ACT_ERRNO"));
    EXPECT_TRUE(has("actions", "SCMP_ACT_KILL_PROCESS"));
    EXPECT_TRUE(has("actions", "SCMP_ACT_NOTIFY"));  // with linux.seccomp.listenerPath
    EXPECT_EQ(f["operators"].size(), 7U);
    EXPECT_TRUE(has("operators", "SCMP_CMP_MASKED_EQ"));
    EXPECT_TRUE(has("archs", "SCMP_ARCH_X86_64"));
    EXPECT_TRUE(has("archs", "SCMP_ARCH_AARCH64"));
    EXPECT_EQ(f["knownFlags"].size(), 4U);
    EXPECT_FALSE(has("supportedFlags", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"));
    for (const auto& flag : f["supportedFlags"])
        EXPECT_TRUE(has("knownFlags", flag.get<std::string>().c_str()));
    if (seccomp_api_get() >= 4) {
        EXPECT_EQ(f["supportedFlags"].size(), 3U);
    }
    for (const char* key : {"actions", "operators", "archs", "knownFlags"})
        EXPECT_TRUE(std::is_sorted(f[key].begin(), f[key].end())) << key;
    // Every architecture listed is one validate() accepts.
    for (const auto& arch : f["archs"]) {
        oci::Seccomp config;
        config.default_action = "SCMP_ACT_ALLOW";
        config.architectures = {arch.get<std::string>()};
        try {
            sc::validate(config);
        } catch (const InvalidDocument& e) {
            EXPECT_NE(std::string(e.what()).find("cannot share a filter"), std::string::npos)
                << e.what();
        }
    }
    EXPECT_EQ(sc::libseccomp_version(), std::to_string(SCMP_VER_MAJOR) + "." +
                                            std::to_string(SCMP_VER_MINOR) + "." +
                                            std::to_string(SCMP_VER_MICRO));
}

// ---- docker_default_profile() ---------------------------------------------------------------

namespace {

// Names allowed without argument conditions.
std::set<std::string> allowed(const oci::Seccomp& profile) {
    std::set<std::string> out;
    for (const auto& r : profile.syscalls)
        if (r.action == "SCMP_ACT_ALLOW" && r.args.empty())
            out.insert(r.names.begin(), r.names.end());
    return out;
}

const oci::SeccompRule* find_rule(const oci::Seccomp& profile, const std::string& name,
                                  const std::string& action) {
    for (const auto& r : profile.syscalls)
        if (r.action == action && std::find(r.names.begin(), r.names.end(), name) != r.names.end())
            return &r;
    return nullptr;
}

}  // namespace

TEST(DockerDefaultProfile, BaseShape) {
    oci::Seccomp profile = sc::docker_default_profile({}, kAmd64);
    EXPECT_EQ(profile.default_action, "SCMP_ACT_ERRNO");
    EXPECT_EQ(profile.default_errno_ret, std::optional<uint32_t>(EPERM));
    EXPECT_EQ(profile.architectures,
              (std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
    std::set<std::string> names = allowed(profile);
    EXPECT_GT(names.size(), 350U);
    for (const char* name : {"read", "execve", "arch_prctl", "modify_ldt", "ptrace"})
        EXPECT_EQ(names.count(name), 1U) << name;
    for (const char* name :
         {"mount", "unshare", "setns", "keyctl", "bpf", "reboot", "set_tls", "io_uring_setup"})
        EXPECT_EQ(names.count(name), 0U) << name;
}

TEST(DockerDefaultProfile, CapabilitiesUnlockTheirGroups) {
    oci::Seccomp plain = sc::docker_default_profile(kDockerDefaultCaps, kAmd64);
    // Without CAP_SYS_ADMIN: clone without namespace flags, clone3 -> ENOSYS.
    const oci::SeccompRule* clone = find_rule(plain, "clone", "SCMP_ACT_ALLOW");
    ASSERT_NE(clone, nullptr);
    ASSERT_EQ(clone->args.size(), 1U);
    EXPECT_EQ(clone->args[0].index, 0U);
    EXPECT_EQ(clone->args[0].op, oci::SeccompArgOp::masked_equal);
    EXPECT_EQ(clone->args[0].value, 2114060288U);
    const oci::SeccompRule* clone3 = find_rule(plain, "clone3", "SCMP_ACT_ERRNO");
    ASSERT_NE(clone3, nullptr);
    EXPECT_EQ(clone3->errno_ret, std::optional<uint32_t>(ENOSYS));
    EXPECT_EQ(allowed(plain).count("chroot"), 1U);  // CAP_SYS_CHROOT is a docker default

    std::vector<std::string> caps = kDockerDefaultCaps;
    caps.insert(caps.end(), {"CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_TIME",
                             "CAP_DAC_READ_SEARCH", "CAP_BPF"});
    oci::Seccomp privileged = sc::docker_default_profile(caps, kAmd64);
    std::set<std::string> names = allowed(privileged);
    for (const char* name : {"mount", "unshare", "setns", "clone", "clone3", "kcmp", "settimeofday",
                             "open_by_handle_at", "bpf"})
        EXPECT_EQ(names.count(name), 1U) << name;
    EXPECT_EQ(find_rule(privileged, "clone3", "SCMP_ACT_ERRNO"), nullptr);
    // Five more groups; the clone rule with its flag mask and the clone3 ENOSYS rule are gone.
    EXPECT_EQ(privileged.syscalls.size(), plain.syscalls.size() + 5 - 2);
    EXPECT_EQ(names.count("reboot"), 0U);
}

TEST(DockerDefaultProfile, ArchitectureAndKernelConditions) {
    oci::Seccomp s390 = sc::docker_default_profile({}, {"s390x", 6, 1});
    EXPECT_EQ(s390.architectures, (std::vector<std::string>{"SCMP_ARCH_S390X", "SCMP_ARCH_S390"}));
    const oci::SeccompRule* clone = find_rule(s390, "clone", "SCMP_ACT_ALLOW");
    ASSERT_NE(clone, nullptr);
    ASSERT_EQ(clone->args.size(), 1U);
    EXPECT_EQ(clone->args[0].index, 1U);  // s390 passes clone's flags second
    EXPECT_EQ(allowed(s390).count("s390_runtime_instr"), 1U);
    EXPECT_EQ(allowed(s390).count("arch_prctl"), 0U);

    oci::Seccomp arm = sc::docker_default_profile({}, {"arm64", 6, 1});
    EXPECT_EQ(arm.architectures, (std::vector<std::string>{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}));
    EXPECT_EQ(allowed(arm).count("set_tls"), 1U);

    oci::Seccomp old_kernel = sc::docker_default_profile({}, {"amd64", 4, 4});
    EXPECT_EQ(allowed(old_kernel).count("ptrace"), 0U);
    EXPECT_EQ(
        allowed(sc::docker_default_profile({"CAP_SYS_PTRACE"}, {"amd64", 4, 4})).count("ptrace"),
        1U);

    sc::ProfileHost host = sc::ProfileHost::current();
    EXPECT_FALSE(host.arch.empty());
    EXPECT_GT(host.kernel_major, 2U);
}

TEST(DockerDefaultProfile, RuleConditionsOfAProfileFile) {
    const std::vector<std::string> admin{"CAP_SYS_ADMIN", "CAP_CHOWN"};
    sc::RuleCondition none;
    sc::RuleCondition needs_admin{{"CAP_SYS_ADMIN"}, {}, ""};
    sc::RuleCondition needs_two{{"CAP_SYS_ADMIN", "CAP_SYS_PTRACE"}, {}, ""};
    EXPECT_TRUE(sc::docker_rule_applies(none, none, {}, kAmd64));
    EXPECT_TRUE(sc::docker_rule_applies(needs_admin, none, admin, kAmd64));
    EXPECT_FALSE(sc::docker_rule_applies(needs_admin, none, {"CAP_CHOWN"}, kAmd64));
    EXPECT_FALSE(sc::docker_rule_applies(needs_two, none, admin, kAmd64));    // every include cap
    EXPECT_FALSE(sc::docker_rule_applies(none, needs_admin, admin, kAmd64));  // any exclude cap
    EXPECT_TRUE(sc::docker_rule_applies(none, needs_admin, {"CAP_CHOWN"}, kAmd64));
    sc::RuleCondition on_s390{{}, {"s390", "s390x"}, ""};
    EXPECT_FALSE(sc::docker_rule_applies(on_s390, none, {}, kAmd64));
    EXPECT_TRUE(sc::docker_rule_applies(none, on_s390, {}, kAmd64));
    sc::RuleCondition kernel_5_8{{}, {}, "5.8"};
    EXPECT_TRUE(sc::docker_rule_applies(kernel_5_8, none, {}, kAmd64));  // 6.1
    EXPECT_FALSE(sc::docker_rule_applies(kernel_5_8, none, {}, {"amd64", 4, 19}));
    EXPECT_FALSE(sc::docker_rule_applies(none, kernel_5_8, {}, kAmd64));
}

// The C++ tables against the upstream file (tests/fixtures/seccomp/moby-default.json),
// expanded here the way moby's setupSeccomp does.
namespace {

bool kernel_at_least(const sc::ProfileHost& host, const std::string& version) {
    std::vector<std::string> parts = split(version, '.');
    unsigned major = static_cast<unsigned>(*parse_uint64(parts.at(0)));
    unsigned minor = static_cast<unsigned>(*parse_uint64(parts.at(1)));
    return host.kernel_major != major ? host.kernel_major > major : host.kernel_minor >= minor;
}

bool contains(const json& list, const std::string& value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

oci::Seccomp moby_expand(const json& profile, const std::vector<std::string>& caps,
                         const sc::ProfileHost& host) {
    static const std::map<std::string, std::string> native = {
        {"amd64", "SCMP_ARCH_X86_64"},   {"x86", "SCMP_ARCH_X86"},
        {"arm64", "SCMP_ARCH_AARCH64"},  {"arm", "SCMP_ARCH_ARM"},
        {"s390x", "SCMP_ARCH_S390X"},    {"ppc64le", "SCMP_ARCH_PPC64LE"},
        {"riscv64", "SCMP_ARCH_RISCV64"}};
    auto has_cap = [&](const std::string& c) {
        return std::find(caps.begin(), caps.end(), c) != caps.end();
    };
    oci::Seccomp out;
    out.default_action = profile["defaultAction"];
    out.default_errno_ret = profile["defaultErrnoRet"].get<uint32_t>();
    for (const auto& family : profile["archMap"]) {
        if (family["architecture"] != native.at(host.arch)) continue;
        out.architectures.push_back(family["architecture"]);
        if (family["subArchitectures"].is_array())
            for (const auto& sub : family["subArchitectures"])
                out.architectures.push_back(sub);
    }
    for (const auto& entry : profile["syscalls"]) {
        if (entry.contains("excludes")) {
            const json& ex = entry["excludes"];
            if (ex.contains("arches") && contains(ex["arches"], host.arch)) continue;
            bool skip = false;
            for (const auto& c : ex.value("caps", json::array()))
                skip = skip || has_cap(c);
            if (skip) continue;
            if (ex.contains("minKernel") && kernel_at_least(host, ex["minKernel"])) continue;
        }
        if (entry.contains("includes")) {
            const json& in = entry["includes"];
            if (in.contains("arches") && !contains(in["arches"], host.arch)) continue;
            bool skip = false;
            for (const auto& c : in.value("caps", json::array()))
                skip = skip || !has_cap(c);
            if (skip) continue;
            if (in.contains("minKernel") && !kernel_at_least(host, in["minKernel"])) continue;
        }
        json plain = {{"names", entry["names"]}, {"action", entry["action"]}};
        for (const char* key : {"errnoRet", "args"})
            if (entry.contains(key)) plain[key] = entry[key];
        out.syscalls.push_back(
            parse({{"defaultAction", "SCMP_ACT_ALLOW"}, {"syscalls", {plain}}}).syscalls.at(0));
    }
    return out;
}

}  // namespace

TEST(DockerDefaultProfile, MatchesUpstreamMobyProfile) {
    json upstream = parse_json(read_file(BERTH_TEST_FIXTURES "/seccomp/moby-default.json"),
                               "moby-default.json");
    std::vector<std::string> every_cap = kDockerDefaultCaps;
    for (const auto& entry : upstream["syscalls"])
        for (const char* key : {"includes", "excludes"})
            if (entry.contains(key))
                for (const auto& c : entry[key].value("caps", json::array()))
                    every_cap.push_back(c);
    const std::vector<std::vector<std::string>> cap_sets = {
        {}, kDockerDefaultCaps, {"CAP_SYS_ADMIN"}, {"CAP_SYSLOG", "CAP_SYS_NICE"}, every_cap};
    const std::vector<sc::ProfileHost> hosts = {
        {"amd64", 6, 1}, {"amd64", 4, 4}, {"x86", 5, 10},    {"arm64", 6, 8},
        {"arm", 5, 4},   {"s390x", 6, 1}, {"ppc64le", 6, 1}, {"riscv64", 6, 6}};
    for (const auto& host : hosts) {
        for (const auto& caps : cap_sets) {
            SCOPED_TRACE(host.arch + " " + std::to_string(host.kernel_major) + "." +
                         std::to_string(host.kernel_minor) + " caps: " + join(caps, ","));
            oci::Seccomp expected = moby_expand(upstream, caps, host);
            oci::Seccomp actual = sc::docker_default_profile(caps, host);
            EXPECT_EQ(actual.default_action, expected.default_action);
            EXPECT_EQ(actual.default_errno_ret, expected.default_errno_ret);
            EXPECT_EQ(actual.architectures, expected.architectures);
            ASSERT_EQ(actual.syscalls.size(), expected.syscalls.size());
            for (size_t i = 0; i < expected.syscalls.size(); ++i) {
                const auto& a = actual.syscalls[i];
                const auto& e = expected.syscalls[i];
                EXPECT_EQ(a.names, e.names) << "rule " << i;
                EXPECT_EQ(a.action, e.action) << "rule " << i;
                EXPECT_EQ(a.errno_ret, e.errno_ret) << "rule " << i;
                ASSERT_EQ(a.args.size(), e.args.size()) << "rule " << i;
                for (size_t j = 0; j < e.args.size(); ++j) {
                    EXPECT_EQ(a.args[j].index, e.args[j].index);
                    EXPECT_EQ(a.args[j].value, e.args[j].value);
                    EXPECT_EQ(a.args[j].value_two, e.args[j].value_two);
                    EXPECT_EQ(a.args[j].op, e.args[j].op);
                }
            }
        }
    }
}
