// What config.json's process section asks for is what the process gets: capabilities,
// no_new_privs, seccomp, rlimits, oom score, umask, ids, personality, scheduler; and the
// runtime binary stays out of the container's reach.
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "support/fixture.hpp"

namespace fs = std::filesystem;
using namespace berth::test;
using nlohmann::json;

namespace {

std::string status_field(const std::string& status, const std::string& field) {
    auto pos = status.find(field + ":");
    if (pos == std::string::npos) return "";
    auto end = status.find('\n', pos);
    std::string value = status.substr(pos + field.size() + 1, end - pos - field.size() - 1);
    value.erase(0, value.find_first_not_of(" \t"));
    return value;
}

}  // namespace

TEST(Security, CapabilitySetsAreExactlyTheConfigured) {
    Bundle bundle({"cat", "/proc/self/status"});
    json caps = {"CAP_NET_RAW", "CAP_CHOWN"};  // bits 13 and 0
    bundle.config()["process"]["capabilities"] = {{"bounding", caps},
                                                  {"effective", caps},
                                                  {"permitted", caps},
                                                  {"inheritable", {"CAP_CHOWN"}},
                                                  {"ambient", {"CAP_CHOWN"}}};
    std::string status = run_output(bundle);
    EXPECT_EQ(status_field(status, "CapBnd"), "0000000000002001");
    EXPECT_EQ(status_field(status, "CapEff"), "0000000000002001");
    EXPECT_EQ(status_field(status, "CapPrm"), "0000000000002001");
    EXPECT_EQ(status_field(status, "CapInh"), "0000000000000001");
    EXPECT_EQ(status_field(status, "CapAmb"), "0000000000000001");
    EXPECT_EQ(status_field(status, "NoNewPrivs"), "1");  // the default spec sets it
}

TEST(Security, NonRootUserWithAmbientCapabilityKeepsIt) {
    Bundle bundle({"sh", "-c", "id -u; id -g; id -G; grep CapEff /proc/self/status"});
    bundle.config()["process"]["user"] = {
        {"uid", 1000}, {"gid", 1000}, {"additionalGids", {10, 20}}};
    json caps = {"CAP_NET_BIND_SERVICE"};
    bundle.config()["process"]["capabilities"] = {{"bounding", caps},
                                                  {"effective", caps},
                                                  {"permitted", caps},
                                                  {"inheritable", caps},
                                                  {"ambient", caps}};
    std::string out = run_output(bundle);
    EXPECT_EQ(out, "1000\n1000\n1000 10 20\nCapEff:\t0000000000000400\n");
}

TEST(Security, NoNewPrivilegesOffIsHonoured) {
    Bundle bundle({"grep", "NoNewPrivs", "/proc/self/status"});
    bundle.config()["process"]["noNewPrivileges"] = false;
    EXPECT_EQ(run_output(bundle), "NoNewPrivs:\t0\n");
}

TEST(Security, SeccompErrnoAndArgumentRules) {
    Bundle bundle({"sh", "-c", "mkdir /tmp/x 2>&1; echo mkdir=$?; touch /tmp/ok && echo touch-ok"});
    bundle.config()["root"]["readonly"] = false;
    bundle.config()["linux"]["seccomp"] = {
        {"defaultAction", "SCMP_ACT_ALLOW"},
        {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}},
        {"syscalls",
         {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 38}}}}};
    std::string out = run_output(bundle);
    EXPECT_NE(out.find("Function not implemented"), std::string::npos) << out;  // ENOSYS = 38
    EXPECT_NE(out.find("mkdir=1"), std::string::npos) << out;
    EXPECT_NE(out.find("touch-ok"), std::string::npos) << out;
}

TEST(Security, SeccompDefaultErrnoAndKill) {
    Bundle bundle({"sh", "-c", "echo start; exec sync"});
    bundle.config()["linux"]["seccomp"] = {
        {"defaultAction", "SCMP_ACT_ALLOW"},
        {"syscalls", {{{"names", {"sync"}}, {"action", "SCMP_ACT_KILL_PROCESS"}}}}};
    Runtime runtime;
    std::string id = unique_id("seckill");
    ContainerGuard guard(runtime, id);
    bundle.write();
    auto r = runtime({"run", "--bundle", bundle.path(), id});
    EXPECT_EQ(r.out, "start\n");
    EXPECT_EQ(r.exit_code, 128 + SIGSYS) << r.describe();
}

TEST(Security, RlimitsOomScoreUmaskAndHostname) {
    Bundle bundle({"sh", "-c",
                   "ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj; umask; hostname; cat "
                   "/proc/sys/kernel/domainname"});
    bundle.config()["process"]["rlimits"] = {
        {{"type", "RLIMIT_NOFILE"}, {"soft", 100}, {"hard", 200}}};
    bundle.config()["process"]["oomScoreAdj"] = 500;
    bundle.config()["process"]["user"]["umask"] = 63;  // 0077
    bundle.config()["hostname"] = "box";
    bundle.config()["domainname"] = "example.org";
    EXPECT_EQ(run_output(bundle), "100\n200\n500\n0077\nbox\nexample.org\n");
}

TEST(Security, PersonalitySchedulerAndIoPriority) {
    Bundle bundle({"sh", "-c",
                   "uname -m; grep ^policy /proc/self/sched | tr -s ' '; cat /proc/self/stat | cut "
                   "-d' ' -f41"});
    bundle.config()["linux"]["personality"] = {{"domain", "LINUX32"}};
    bundle.config()["process"]["scheduler"] = {{"policy", "SCHED_BATCH"}, {"nice", 5}};
    bundle.config()["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_BE"}, {"priority", 3}};
    std::string out = run_output(bundle);
    EXPECT_EQ(out.substr(0, out.find('\n')), "i686") << out;
    EXPECT_NE(out.find("policy : 3"), std::string::npos) << out;  // SCHED_BATCH
}

TEST(Security, SysctlInTheContainersNamespaces) {
    Bundle bundle({"sh", "-c", "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni"});
    bundle.config()["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}, {"kernel.shmmni", "1234"}};
    EXPECT_EQ(run_output(bundle), "1\n1234\n");
    std::ifstream host("/proc/sys/kernel/shmmni");
    int value = 0;
    host >> value;
    EXPECT_NE(value, 1234) << "the host's sysctl changed";
}

// CVE-2019-5736: a container process must not get a writable handle on the runtime binary
// through /proc/PID/exe of a runtime process inside its pid namespace. Container B joins
// A's pid namespace and waits in `created` (its init is berth-runtime code until start).
class ExeOverwrite : public ::testing::TestWithParam<bool> {};

TEST_P(ExeOverwrite, RuntimeBinaryIsOutOfReach) {
    const bool with_ptrace = GetParam();
    Runtime runtime;
    Bundle a({"sleep", "300"});
    if (with_ptrace) {
        // CAP_SYS_PTRACE defeats non-dumpable: the runtime must run from a sealed copy.
        for (const char* set : {"bounding", "effective", "permitted"})
            a.config()["process"]["capabilities"][set].push_back("CAP_SYS_PTRACE");
    }
    a.write();
    std::string id_a = unique_id("exe-a"), id_b = unique_id("exe-b");
    ContainerGuard guard_a(runtime, id_a);
    ASSERT_EQ(runtime({"run", "-d", "--bundle", a.path(), id_a}).exit_code, 0);
    int pid_a = runtime.state(id_a)["pid"];

    Bundle b({"true"});
    for (auto& ns : b.config()["linux"]["namespaces"])
        if (ns["type"] == "pid") ns["path"] = "/proc/" + std::to_string(pid_a) + "/ns/pid";
    if (with_ptrace) {
        for (const char* set : {"bounding", "effective", "permitted"})
            b.config()["process"]["capabilities"][set].push_back("CAP_SYS_PTRACE");
    }
    b.write();
    ContainerGuard guard_b(runtime, id_b);
    auto created = runtime({"create", "--bundle", b.path(), id_b});
    ASSERT_EQ(created.exit_code, 0) << created.describe();

    struct stat before {};
    ASSERT_EQ(::stat(runtime_binary().c_str(), &before), 0);
    // From inside A: B's waiting init (named berth:init until its exec).
    auto attack = runtime(
        {"exec", id_a, "sh", "-c",
         "for p in /proc/[0-9]*; do "
         "  name=$(cat $p/comm 2>/dev/null); "
         "  [ \"$name\" = berth:init ] || continue; "
         "  echo found; "
         "  if (echo x >> $p/exe) 2>/dev/null; then echo WROTE; else echo write-refused; fi; "
         "done"});
    EXPECT_NE(attack.out.find("found"), std::string::npos)
        << "the attack found no runtime process: " << attack.describe();
    EXPECT_NE(attack.out.find("write-refused"), std::string::npos) << attack.describe();
    EXPECT_EQ(attack.out.find("WROTE"), std::string::npos) << attack.describe();
    struct stat after {};
    ASSERT_EQ(::stat(runtime_binary().c_str(), &after), 0);
    EXPECT_EQ(after.st_size, before.st_size);
    EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
    EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
}

INSTANTIATE_TEST_SUITE_P(WithAndWithoutPtrace, ExeOverwrite, ::testing::Bool());
