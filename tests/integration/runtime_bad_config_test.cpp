// A malformed or contradictory config.json is rejected before anything exists, with one
// line naming the field; a failure half-way through create rolls everything back.
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "support/fixture.hpp"

namespace fs = std::filesystem;
using namespace berth::test;
using nlohmann::json;

namespace {

struct Rejected {
    CommandResult result;
    std::string id;
};

// Runs `create` on the bundle and checks the one-line error and that nothing was left.
void expect_rejected(Bundle& bundle, const std::string& expected_in_error,
                     const std::string& verb = "create") {
    Runtime runtime;
    std::string id = unique_id("bad");
    ContainerGuard guard(runtime, id);
    auto r = runtime({verb, "--bundle", bundle.path(), id});
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    EXPECT_NE(r.err.find(expected_in_error), std::string::npos) << "stderr: " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "not one line: " << r.err;
    EXPECT_FALSE(fs::exists(runtime.state_root() + "/" + id)) << "state directory left";
    EXPECT_TRUE(cgroup_dirs_named(id).empty()) << "cgroup left: " << cgroup_dirs_named(id)[0];
    EXPECT_TRUE(mounts_under(bundle.rootfs()).empty())
        << "mount left: " << mounts_under(bundle.rootfs())[0];
    EXPECT_TRUE(runtime({"list", "-q"}).out.empty());
}

}  // namespace

TEST(BadConfig, MalformedJson) {
    Bundle bundle;
    std::ofstream(bundle.path() + "/config.json") << "{\"ociVersion\": \"1.0.0\", \"process\": ";
    expect_rejected(bundle, "config.json: invalid JSON");
}

TEST(BadConfig, UnknownNamespaceType) {
    Bundle bundle;
    bundle.config()["linux"]["namespaces"].push_back({{"type", "netwrok"}});
    bundle.write();
    expect_rejected(bundle, "linux.namespaces[5].type: unknown value \"netwrok\"");
}

TEST(BadConfig, RelativePathWhereAbsoluteIsRequired) {
    Bundle bundle;
    bundle.config()["process"]["cwd"] = "tmp";
    bundle.write();
    expect_rejected(bundle, "process.cwd: \"tmp\" must be an absolute path");
}

TEST(BadConfig, InvalidCgroupValue) {
    Bundle bundle;
    bundle.config()["linux"]["resources"]["cpu"] = {{"quota", 5}};
    bundle.write();
    expect_rejected(bundle, "linux.resources.cpu.quota");
}

TEST(BadConfig, UnknownSeccompAction) {
    Bundle bundle;
    bundle.config()["linux"]["seccomp"] = {
        {"defaultAction", "SCMP_ACT_ALLOW"},
        {"syscalls", {{{"names", {"mkdir"}}, {"action", "SCMP_ACT_EXPLODE"}}}}};
    bundle.write();
    expect_rejected(
        bundle, "linux.seccomp.syscalls[0].action: unknown seccomp action \"SCMP_ACT_EXPLODE\"");
}

TEST(BadConfig, UnknownCapability) {
    Bundle bundle;
    bundle.config()["process"]["capabilities"]["bounding"].push_back("CAP_FLY");
    bundle.write();
    expect_rejected(bundle, "process.capabilities.bounding[3]: unknown capability \"CAP_FLY\"");
}

TEST(BadConfig, HostSysctl) {
    Bundle bundle;
    bundle.config()["linux"]["sysctl"] = {{"vm.swappiness", "10"}};
    bundle.write();
    expect_rejected(bundle, "linux.sysctl.vm.swappiness: not a namespaced sysctl");
}

TEST(BadConfig, MissingRootfs) {
    Bundle bundle;
    bundle.config()["root"]["path"] = "no-such-rootfs";
    bundle.write();
    expect_rejected(bundle, "root.path:");
}

TEST(BadConfig, LsmAskedForButNotEnabled) {
    Bundle bundle;
    bundle.config()["process"]["apparmorProfile"] = "docker-default";
    bundle.write();
    if (fs::exists("/sys/kernel/security/apparmor")) GTEST_SKIP() << "AppArmor is enabled here";
    expect_rejected(bundle, "process.apparmorProfile: AppArmor is not enabled on this host");
    Bundle selinux;
    selinux.config()["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0";
    selinux.write();
    expect_rejected(selinux, "process.selinuxLabel: SELinux is not enabled on this host");
}

TEST(BadConfig, SeccompNotifyNeedsAListener) {
    Bundle bundle;
    bundle.config()["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_NOTIFY"}};
    bundle.write();
    expect_rejected(
        bundle, "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath");
    Bundle unreachable;
    unreachable.config()["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_NOTIFY"},
                                                {"listenerPath", "/nonexistent/listener.sock"}};
    unreachable.write();
    expect_rejected(unreachable, "linux.seccomp.listenerPath: connect /nonexistent/listener.sock");
}

// Failures after the cgroup, state directory and init already exist.
TEST(RollBack, MissingBindSource) {
    Bundle bundle;
    bundle.config()["mounts"].push_back({{"destination", "/data"},
                                         {"type", "bind"},
                                         {"source", "/nonexistent/berth/source"},
                                         {"options", {"rbind"}}});
    bundle.write();
    expect_rejected(bundle,
                    "mounts[7].source: stat /nonexistent/berth/source: No such file or directory");
}

TEST(RollBack, CgroupValueTheKernelRefuses) {
    Bundle bundle;
    bundle.config()["linux"]["resources"]["cpu"] = {{"cpus", "0-4095"}};
    bundle.write();
    expect_rejected(bundle, "cpuset.cpus");
}

TEST(RollBack, FailingPrestartHook) {
    Bundle bundle;
    bundle.config()["hooks"]["prestart"] = {
        {{"path", "/bin/sh"}, {"args", {"sh", "-c", "echo hook says no >&2; exit 3"}}}};
    bundle.write();
    expect_rejected(bundle, "prestart hook 0 (/bin/sh) exited with status 3: hook says no");
}

TEST(RollBack, HookTimeout) {
    Bundle bundle;
    bundle.config()["hooks"]["createRuntime"] = {
        {{"path", "/bin/sleep"}, {"args", {"sleep", "30"}}, {"timeout", 1}}};
    bundle.write();
    expect_rejected(bundle, "createRuntime hook 0 (/bin/sleep) timed out after 1s");
}

TEST(RollBack, FailingCreateContainerHookInsideTheContainer) {
    Bundle bundle;
    bundle.config()["hooks"]["createContainer"] = {{{"path", "/bin/false"}}};
    bundle.write();
    expect_rejected(bundle, "createContainer hook 0 (/bin/false) exited with status 1", "run");
}

TEST(RollBack, ContainerIdTakenLeavesTheFirstAlone) {
    Runtime runtime;
    Bundle bundle({"sleep", "60"});
    std::string id = unique_id("dup");
    ContainerGuard guard(runtime, id);
    ASSERT_EQ(runtime({"create", "--bundle", bundle.path(), id}).exit_code, 0);
    auto again = runtime({"create", "--bundle", bundle.path(), id});
    EXPECT_EQ(again.exit_code, 1);
    EXPECT_NE(again.err.find("container \"" + id + "\" already exists"), std::string::npos)
        << again.err;
    EXPECT_EQ(runtime.state(id)["status"], "created") << "the first container must survive";
    auto bad_id = runtime({"create", "--bundle", bundle.path(), "../escape"});
    EXPECT_EQ(bad_id.exit_code, 1);
    EXPECT_NE(bad_id.err.find("invalid container id"), std::string::npos) << bad_id.err;
}

// A capability the runtime itself lacks (here: dropped from its bounding set by setpriv)
// fails `create`, naming it, rather than a later `start` with a bare EPERM.
TEST(BadConfig, CapabilityTheRuntimeDoesNotHold) {
    Bundle bundle;
    for (const char* set : {"bounding", "effective", "permitted"})
        bundle.config()["process"]["capabilities"][set].push_back("CAP_SYS_NICE");
    bundle.write();
    Runtime runtime;
    std::string id = unique_id("caps");
    ContainerGuard guard(runtime, id);
    std::vector<std::string> argv{"setpriv", "--bounding-set=-sys_nice", "--inh-caps=-all", "--"};
    for (auto& a : runtime.command({"create", "--bundle", bundle.path(), id}))
        argv.push_back(a);
    auto r = run_command(argv);
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    EXPECT_NE(r.err.find("process.capabilities: CAP_SYS_NICE not held by berth-runtime"),
              std::string::npos)
        << "stderr: " << r.err;
    EXPECT_FALSE(fs::exists(runtime.state_root() + "/" + id)) << "state directory left";
    EXPECT_TRUE(cgroup_dirs_named(id).empty()) << "cgroup left";
}

// A container that dies before or at its exec says so in one line, whatever its seccomp
// filter lets through: here only exit_group, so it cannot even send its error (runc: "runc
// run failed: container process is already dead").
TEST(DiesBeforeExec, SeccompThatAllowsOnlyExitGroup) {
    for (const char* action : {"SCMP_ACT_TRACE", "SCMP_ACT_ERRNO"}) {
        for (bool no_new_privileges : {true, false}) {
            Bundle bundle({"true"});
            bundle.config()["process"]["noNewPrivileges"] = no_new_privileges;
            bundle.config()["linux"]["seccomp"] = {
                {"defaultAction", action},
                {"syscalls", {{{"names", {"exit_group"}}, {"action", "SCMP_ACT_ALLOW"}}}}};
            bundle.write();
            const std::string what =
                std::string(action) + (no_new_privileges ? ", no new privileges" : ", privileges");
            // create + start: the filter applies at the exec when there are no new
            // privileges; otherwise before `start`, and the init, reaped by whoever inherited
            // it once create exited, leaves only "stopped" to say.
            std::vector<std::string> verbs = {"run"};
            if (no_new_privileges) verbs.emplace_back("create");
            for (const std::string& verb : verbs) {
                Runtime runtime;
                std::string id = unique_id("dead-exec");
                ContainerGuard guard(runtime, id);
                auto r = runtime({verb, "--bundle", bundle.path(), id});
                if (verb == "create" && r.exit_code == 0) r = runtime({"start", id});
                EXPECT_EQ(r.exit_code, 1) << what << " " << verb << ": " << r.describe();
                EXPECT_NE(r.err.find("container process is already dead"), std::string::npos)
                    << what << " " << verb << ": " << r.err;
                // TRACE without a tracer: ENOSYS; ERRNO without errnoRet: EPERM.
                EXPECT_TRUE(r.err.find("Function not implemented") != std::string::npos ||
                            r.err.find("Operation not permitted") != std::string::npos)
                    << what << " " << verb << ": " << r.err;
                EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1)
                    << "not one line: " << r.err;
            }
        }
    }
}

TEST(DiesBeforeExec, KilledAtItsExec) {
    Bundle bundle({"true"});
    bundle.config()["linux"]["seccomp"] = {
        {"defaultAction", "SCMP_ACT_ALLOW"},
        {"syscalls", {{{"names", {"execve", "execveat"}}, {"action", "SCMP_ACT_KILL_PROCESS"}}}}};
    bundle.write();
    Runtime runtime;
    std::string id = unique_id("killed-exec");
    ContainerGuard guard(runtime, id);
    auto r = runtime({"run", "--bundle", bundle.path(), id});
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    EXPECT_NE(r.err.find("container process is already dead: killed by signal 31"),
              std::string::npos)
        << r.err;
    EXPECT_FALSE(fs::exists(runtime.state_root() + "/" + id));
}

// A config of hundreds of megabytes is refused at once, before it is read (runc and crun read
// it whole; parsing it took 7-25 s).
TEST(BadConfig, ConfigLargerThan64MiB) {
    Bundle bundle;
    bundle.config()["annotations"] = {{"padding", std::string(70 << 20, 'x')}};
    bundle.write();
    const auto started = std::chrono::steady_clock::now();
    expect_rejected(bundle, "/config.json: 734");
    expect_rejected(bundle, " bytes, more than the limit of 64 MiB");
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
}
