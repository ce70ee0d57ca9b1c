// The lifecycle verbs end to end: create/start/state/kill/delete/list/run/exec/ps/pause/
// resume/update/events/features/spec, with nothing left behind.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "support/fixture.hpp"

namespace fs = std::filesystem;
using namespace berth::test;
using nlohmann::json;

namespace {

CommandOptions inherit(int a, int b) {
    CommandOptions o;
    o.inherit_fds = {a, b};
    return o;
}

void expect_nothing_left(const Runtime& runtime, const std::string& id, const Bundle& bundle) {
    EXPECT_FALSE(fs::exists(runtime.state_root() + "/" + id)) << "state directory left behind";
    EXPECT_TRUE(cgroup_dirs_named(id).empty())
        << "cgroup left behind: " << cgroup_dirs_named(id)[0];
    EXPECT_TRUE(mounts_under(bundle.rootfs()).empty())
        << "mount left behind under " << bundle.rootfs();
}

}  // namespace

TEST(Lifecycle, RunPrintsAndReturnsTheExitCode) {
    Runtime runtime;
    Bundle bundle({"sh", "-c", "echo hello from inside; exit 3"});
    std::string id = unique_id("run");
    ContainerGuard guard(runtime, id);
    auto r = runtime({"run", "--bundle", bundle.path(), id});
    EXPECT_EQ(r.exit_code, 3) << r.describe();
    EXPECT_EQ(r.out, "hello from inside\n");
    expect_nothing_left(runtime, id, bundle);
}

TEST(Lifecycle, RunReportsAMissingProgramWithoutLeavingAnything) {
    Runtime runtime;
    Bundle bundle({"no-such-program"});
    std::string id = unique_id("missing");
    ContainerGuard guard(runtime, id);
    auto r = runtime({"run", "--bundle", bundle.path(), id});
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    EXPECT_NE(r.err.find("\"no-such-program\": executable file not found in $PATH"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1)
        << "error must be one line: " << r.err;
    expect_nothing_left(runtime, id, bundle);
}

TEST(Lifecycle, CreateStartKillDelete) {
    Runtime runtime;
    Bundle bundle({"sleep", "300"});
    std::string id = unique_id("cycle");
    ContainerGuard guard(runtime, id);
    std::string pid_file = bundle.path() + "/pid";

    auto created = runtime({"create", "--bundle", bundle.path(), "--pid-file", pid_file, id});
    ASSERT_EQ(created.exit_code, 0) << created.describe();
    json state = runtime.state(id);
    ASSERT_FALSE(state.is_null());
    EXPECT_EQ(state["status"], "created");
    EXPECT_EQ(state["id"], id);
    EXPECT_EQ(state["bundle"], bundle.path());
    int pid = state["pid"];
    EXPECT_GT(pid, 0);
    std::ifstream pf(pid_file);
    int file_pid = 0;
    pf >> file_pid;
    EXPECT_EQ(file_pid, pid);
    // Before start, the user's process has not been exec'd.
    std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
    std::string name;
    comm >> name;
    EXPECT_EQ(name, "berth:init");

    auto start = runtime({"start", id});
    ASSERT_EQ(start.exit_code, 0) << start.describe();
    EXPECT_TRUE(eventually([&] { return runtime.state(id)["status"] == "running"; }));
    EXPECT_TRUE(eventually([&] {
        std::ifstream c("/proc/" + std::to_string(pid) + "/comm");
        std::string n;
        c >> n;
        return n == "sleep";
    }));
    auto again = runtime({"start", id});
    EXPECT_EQ(again.exit_code, 1) << "a running container must not start twice";

    auto refuse = runtime({"delete", id});
    EXPECT_EQ(refuse.exit_code, 1) << "delete of a running container needs --force";

    auto kill = runtime({"kill", id, "KILL"});
    ASSERT_EQ(kill.exit_code, 0) << kill.describe();
    EXPECT_TRUE(eventually([&] { return runtime.state(id)["status"] == "stopped"; }));
    auto del = runtime({"delete", id});
    EXPECT_EQ(del.exit_code, 0) << del.describe();
    EXPECT_TRUE(runtime.state(id).is_null());
    expect_nothing_left(runtime, id, bundle);
}

TEST(Lifecycle, DeleteOfACreatedContainerRemovesItsInit) {
    Runtime runtime;
    Bundle bundle({"sleep", "300"});
    std::string id = unique_id("created-delete");
    ContainerGuard guard(runtime, id);
    ASSERT_EQ(runtime({"create", "--bundle", bundle.path(), id}).exit_code, 0);
    int pid = runtime.state(id)["pid"];
    auto del = runtime({"delete", id});
    EXPECT_EQ(del.exit_code, 0) << del.describe();
    EXPECT_TRUE(eventually([&] { return ::kill(pid, 0) != 0; }));
    expect_nothing_left(runtime, id, bundle);
}

// podman and containerd's shim run `delete --force` after a failed create; as with runc,
// a container that is not there is then no error. A directory without state (an aborted
// create) is removed either way.
TEST(Lifecycle, ForceDeleteOfAMissingContainerSucceeds) {
    Runtime runtime;
    std::string id = unique_id("missing-delete");
    auto plain = runtime({"delete", id});
    EXPECT_EQ(plain.exit_code, 1) << plain.describe();
    EXPECT_NE(plain.err.find("container \"" + id + "\" does not exist"), std::string::npos)
        << plain.err;
    auto forced = runtime({"delete", "--force", id});
    EXPECT_EQ(forced.exit_code, 0) << forced.describe();
    EXPECT_EQ(forced.err, "");

    fs::create_directories(runtime.state_root() + "/" + id);
    auto aborted = runtime({"delete", "--force", id});
    EXPECT_EQ(aborted.exit_code, 0) << aborted.describe();
    EXPECT_FALSE(fs::exists(runtime.state_root() + "/" + id));
}

TEST(Lifecycle, KillAcceptsSignalNamesAndNumbers) {
    Runtime runtime;
    // The trap proves the signal arrived: TERM writes a mark, then the shell exits.
    Bundle bundle(
        {"sh", "-c",
         "trap 'echo got-usr1 > /tmp/mark' USR1; trap 'exit 0' TERM; while :; do sleep 0.1; done"});
    bundle.config()["root"]["readonly"] = false;
    bundle.write();
    std::string id = unique_id("kill");
    ContainerGuard guard(runtime, id);
    ASSERT_EQ(runtime({"run", "-d", "--bundle", bundle.path(), id}).exit_code, 0);
    EXPECT_EQ(runtime({"kill", id, "SIGUSR1"}).exit_code, 0);
    EXPECT_TRUE(eventually([&] { return fs::exists(bundle.rootfs() + "/tmp/mark"); }));
    EXPECT_EQ(runtime({"kill", id, "15"}).exit_code, 0);
    EXPECT_TRUE(eventually([&] { return runtime.state(id)["status"] == "stopped"; }));
    auto bad = runtime({"kill", id, "SIGNOPE"});
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_NE(bad.err.find("unknown signal \"SIGNOPE\""), std::string::npos) << bad.err;
    auto stopped = runtime({"kill", id, "KILL"});
    EXPECT_EQ(stopped.exit_code, 1) << "killing a stopped container is an error";
    EXPECT_EQ(runtime({"kill", "--all", id, "KILL"}).exit_code, 0)
        << "--all on a stopped container is not";
}

TEST(Lifecycle, KillAllReachesEveryProcess) {
    Runtime runtime;
    Bundle bundle({"sh", "-c", "sleep 300 & sleep 300 & trap '' TERM; wait"});
    std::string id = unique_id("killall");
    ContainerGuard guard(runtime, id);
    ASSERT_EQ(runtime({"run", "-d", "--bundle", bundle.path(), id}).exit_code, 0);
    EXPECT_TRUE(eventually([&] {
        auto ps = runtime({"ps", "--format", "json", id});
        return ps.exit_code == 0 && json::parse(ps.out).size() == 3;
    }));
    EXPECT_EQ(runtime({"kill", "--all", id, "KILL"}).exit_code, 0);
    EXPECT_TRUE(eventually([&] { return runtime.state(id)["status"] == "stopped"; }));
    auto ps = runtime({"ps", "--format", "json", id});
    EXPECT_EQ(json::parse(ps.out).size(), 0u) << ps.out;
}

TEST(Lifecycle, RunForwardsSignalsToTheContainer) {
    Runtime runtime;
    Bundle bundle(
        {"sh", "-c",
         "trap 'echo terminated; exit 42' TERM; echo ready; while :; do sleep 0.1; done"});
    std::string id = unique_id("forward");
    ContainerGuard guard(runtime, id);
    TempDir out_dir;
    std::string out = out_dir.path() + "/out";
    BackgroundCommand run({"sh", "-c", "exec \"$@\" > " + out, "sh", runtime_binary(), "--root",
                           runtime.state_root(), "run", "--bundle", bundle.path(), id});
    ASSERT_TRUE(eventually([&] {
        std::ifstream in(out);
        std::string line;
        return std::getline(in, line) && line == "ready";
    }));
    run.signal(SIGTERM);
    EXPECT_EQ(run.wait(std::chrono::seconds(10)), 42);
    std::ifstream in(out);
    std::string all((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(all, "ready\nterminated\n");
}

TEST(Lifecycle, ListShowsContainersAsTableAndJson) {
    Runtime runtime;
    Bundle bundle({"sleep", "300"});
    std::string id = unique_id("list");
    ContainerGuard guard(runtime, id);
    ASSERT_EQ(runtime({"create", "--bundle", bundle.path(), id}).exit_code, 0);
    auto table = runtime({"list"});
    EXPECT_EQ(table.exit_code, 0);
    EXPECT_EQ(table.out.rfind("ID", 0), 0u) << table.out;
    EXPECT_NE(table.out.find(id), std::string::npos);
    EXPECT_NE(table.out.find("created"), std::string::npos);
    auto list = json::parse(runtime({"list", "--format", "json"}).out);
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0]["id"], id);
    EXPECT_EQ(list[0]["status"], "created");
    EXPECT_EQ(runtime({"ls", "-q"}).out, id + "\n");
}

TEST(Lifecycle, ExecRunsInTheContainerWithItsFlags) {
    Runtime runtime;
    Bundle bundle({"sleep", "300"});
    bundle.config()["hostname"] = "exec-host";
    bundle.write();
    std::string id = unique_id("exec");
    ContainerGuard guard(runtime, id);
    ASSERT_EQ(runtime({"run", "-d", "--bundle", bundle.path(), id}).exit_code, 0);

    auto r = runtime({"exec", "--env", "GREETING=hi", "--cwd", "/tmp", "--user", "1:1", id, "sh",
                      "-c", "echo $GREETING $(pwd) $(id -u):$(id -g) $(hostname); exit 7"});
    EXPECT_EQ(r.exit_code, 7) << r.describe();
    EXPECT_EQ(r.out, "hi /tmp 1:1 exec-host\n");

    // Same pid namespace as the init: pid 1 is the container's sleep.
    auto comm = runtime({"exec", id, "cat", "/proc/1/comm"});
    EXPECT_EQ(comm.out, "sleep\n") << comm.describe();

    TempDir tmp;
    std::string process_file = tmp.path() + "/process.json";
    std::ofstream(process_file) << json{
        {"args", {"sh", "-c", "echo from-process-file $FOO"}},
        {"env", {"FOO=bar", "PATH=/bin"}},
        {"cwd", "/"},
        {"user",
         {{"uid", 0}, {"gid", 0}}}}.dump();
    auto p = runtime({"exec", "--process", process_file, id});
    EXPECT_EQ(p.exit_code, 0) << p.describe();
    EXPECT_EQ(p.out, "from-process-file bar\n");

    std::string pid_file = tmp.path() + "/exec.pid";
    auto d = runtime({"exec", "--detach", "--pid-file", pid_file, id, "sleep", "100"});
    EXPECT_EQ(d.exit_code, 0) << d.describe();
    std::ifstream pf(pid_file);
    int exec_pid = 0;
    pf >> exec_pid;
    EXPECT_GT(exec_pid, 0);
    auto pids = json::parse(runtime({"ps", "--format", "json", id}).out);
    EXPECT_NE(std::find(pids.begin(), pids.end(), exec_pid), pids.end()) << pids.dump();
    auto table = runtime({"ps", id});
    EXPECT_EQ(table.exit_code, 0) << table.describe();
    EXPECT_NE(table.out.find("sleep 100"), std::string::npos) << table.out;

    auto missing = runtime({"exec", id, "nope"});
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_NE(missing.err.find("executable file not found"), std::string::npos) << missing.err;
}

TEST(Lifecycle, PauseAndResumeFreezeTheContainer) {
    Runtime runtime;
    Bundle bundle({"sh", "-c", "while :; do echo x >> /tmp/ticks; sleep 0.05; done"});
    bundle.config()["root"]["readonly"] = false;
    bundle.write();
    std::string id = unique_id("pause");
    ContainerGuard guard(runtime, id);
    ASSERT_EQ(runtime({"run", "-d", "--bundle", bundle.path(), id}).exit_code, 0);
    auto ticks = [&] {
        return fs::exists(bundle.rootfs() + "/tmp/ticks")
                   ? fs::file_size(bundle.rootfs() + "/tmp/ticks")
                   : 0;
    };
    ASSERT_TRUE(eventually([&] { return ticks() > 0; }));
    ASSERT_EQ(runtime({"pause", id}).exit_code, 0);
    EXPECT_EQ(runtime.state(id)["status"], "paused");
    auto frozen_at = ticks();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(ticks(), frozen_at) << "a paused container made progress";
    EXPECT_EQ(runtime({"exec", id, "true"}).exit_code, 1)
        << "exec into a paused container must fail";
    ASSERT_EQ(runtime({"resume", id}).exit_code, 0);
    EXPECT_EQ(runtime.state(id)["status"], "running");
    EXPECT_TRUE(eventually([&] { return ticks() > frozen_at; }));
    EXPECT_EQ(runtime({"resume", id}).exit_code, 1) << "resume of a running container is an error";
}

TEST(Lifecycle, UpdateAndStats) {
    Runtime runtime;
    Bundle bundle({"sleep", "300"});
    std::string id = unique_id("update");
    ContainerGuard guard(runtime, id);
    ASSERT_EQ(runtime({"run", "-d", "--bundle", bundle.path(), id}).exit_code, 0);
    auto u = runtime({"update", "--memory", "64m", "--pids-limit", "50", id});
    ASSERT_EQ(u.exit_code, 0) << u.describe();
    auto stats = runtime({"events", "--stats", id});
    ASSERT_EQ(stats.exit_code, 0) << stats.describe();
    json event = json::parse(stats.out);
    EXPECT_EQ(event["type"], "stats");
    EXPECT_EQ(event["id"], id);
    EXPECT_EQ(event["data"]["memory"]["usage"]["limit"], 64 << 20) << event.dump();
    EXPECT_EQ(event["data"]["pids"]["limit"], 50) << event.dump();
    EXPECT_GE(event["data"]["pids"]["current"].get<int>(), 1);

    TempDir tmp;
    std::ofstream(tmp.path() + "/r.json") << R"({"pids":{"limit":20}})";
    ASSERT_EQ(runtime({"update", "-r", tmp.path() + "/r.json", id}).exit_code, 0);
    event = json::parse(runtime({"events", "--stats", id}).out);
    EXPECT_EQ(event["data"]["pids"]["limit"], 20);
    auto bad = runtime({"update", "--memory", "lots", id});
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_NE(bad.err.find("--memory lots"), std::string::npos) << bad.err;
}

TEST(Lifecycle, FeaturesSpecAndVersion) {
    Runtime runtime;
    auto f = runtime({"features"});
    ASSERT_EQ(f.exit_code, 0);
    json features = json::parse(f.out);
    EXPECT_EQ(features["ociVersionMax"], "1.2.0");
    EXPECT_NE(std::find(features["linux"]["namespaces"].begin(),
                        features["linux"]["namespaces"].end(), "time"),
              features["linux"]["namespaces"].end());
    EXPECT_TRUE(features["linux"]["seccomp"]["enabled"].get<bool>());
    EXPECT_NE(std::find(features["linux"]["capabilities"].begin(),
                        features["linux"]["capabilities"].end(), "CAP_SYS_ADMIN"),
              features["linux"]["capabilities"].end());

    TempDir dir;
    ASSERT_EQ(runtime({"spec", "--bundle", dir.path()}).exit_code, 0);
    json spec = json::parse(std::ifstream(dir.path() + "/config.json"));
    EXPECT_EQ(spec["process"]["args"][0], "sh");
    EXPECT_EQ(runtime({"spec", "--bundle", dir.path()}).exit_code, 1) << "spec must not overwrite";
    TempDir rootless;
    ASSERT_EQ(runtime({"spec", "--rootless", "--bundle", rootless.path()}).exit_code, 0);
    json rs = json::parse(std::ifstream(rootless.path() + "/config.json"));
    EXPECT_EQ(rs["linux"]["uidMappings"].size(), 1u);

    auto v = runtime({"--version"});
    EXPECT_EQ(v.exit_code, 0);
    EXPECT_EQ(v.out.rfind("berth-runtime version ", 0), 0u) << v.out;
}

TEST(Lifecycle, PreservedAndSocketActivationFdsReachTheContainerOthersDoNot) {
    Runtime runtime;
    Bundle bundle(
        {"sh", "-c", "cat <&3; if [ -e /proc/$$/fd/4 ]; then echo leaked; else echo no-leak; fi"});
    std::string id = unique_id("fds");
    ContainerGuard guard(runtime, id);
    TempDir tmp;
    std::string data = tmp.path() + "/data";
    std::ofstream(data) << "preserved-content\n";
    int fd3 = ::open(data.c_str(), O_RDONLY | O_CLOEXEC);
    int leak = ::open("/etc/hostname", O_RDONLY | O_CLOEXEC);  // must NOT reach the container
    ASSERT_GE(fd3, 0);
    // The child gets fd3 at number 3 and `leak` at number 4 via a small shell.
    auto r = run_command(
        {"sh", "-c",
         "exec 3<&" + std::to_string(fd3) + " 4<&" + std::to_string(leak) + "; exec \"$@\"", "sh",
         runtime_binary(), "--root", runtime.state_root(), "run", "--preserve-fds", "1", "--bundle",
         bundle.path(), id},
        inherit(fd3, leak));
    ::close(fd3);
    ::close(leak);
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out, "preserved-content\nno-leak\n");
}

TEST(Lifecycle, SocketActivationFdsArePassedWithListenFds) {
    Runtime runtime;
    Bundle bundle({"sh", "-c", "echo $LISTEN_FDS $LISTEN_PID; cat <&3; cat <&4"});
    std::string id = unique_id("listen");
    ContainerGuard guard(runtime, id);
    TempDir tmp;
    std::ofstream(tmp.path() + "/a") << "socket-a\n";
    std::ofstream(tmp.path() + "/b") << "socket-b\n";
    // As systemd would start us: LISTEN_FDS=2 with fds 3 and 4, LISTEN_PID our own pid.
    auto r = run_command({"sh", "-c",
                          "exec 3<" + tmp.path() + "/a 4<" + tmp.path() +
                              "/b; LISTEN_FDS=2 LISTEN_PID=$$ exec \"$@\"",
                          "sh", runtime_binary(), "--root", runtime.state_root(), "run", "--bundle",
                          bundle.path(), id});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out, "2 1\nsocket-a\nsocket-b\n");
}

TEST(Lifecycle, JsonLogNamesTheErrorForContainerd) {
    Runtime runtime;
    Bundle bundle;
    bundle.config()["process"]["cwd"] = "relative";
    bundle.write();
    TempDir tmp;
    std::string log = tmp.path() + "/log.json";
    std::string id = unique_id("log");
    ContainerGuard guard(runtime, id);
    auto r =
        runtime({"--log", log, "--log-format", "json", "create", "--bundle", bundle.path(), id});
    EXPECT_EQ(r.exit_code, 1);
    std::ifstream in(log);
    std::string line;
    ASSERT_TRUE(std::getline(in, line)) << "nothing logged";
    json entry = json::parse(line);
    EXPECT_EQ(entry["level"], "error");
    EXPECT_NE(entry["msg"].get<std::string>().find("process.cwd"), std::string::npos) << line;
    EXPECT_TRUE(entry.contains("time"));
}

TEST(Lifecycle, SystemdCgroupPathIsAcceptedAndUsesCgroupfs) {
    Runtime runtime;
    Bundle bundle({"cat", "/proc/self/cgroup"});
    std::string id = unique_id("sysd");
    bundle.config()["linux"]["cgroupsPath"] = "berthtest.slice:berth:" + id;
    bundle.write();
    ContainerGuard guard(runtime, id);
    auto r = runtime({"--systemd-cgroup", "run", "--bundle", bundle.path(), id});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_NE(r.out.find("pids:/berthtest.slice/berth-" + id + ".scope"), std::string::npos)
        << r.out;
    EXPECT_NE(r.err.find("--systemd-cgroup"), std::string::npos)
        << "no message says cgroupfs is used";
    EXPECT_TRUE(cgroup_dirs_named("berthtest.slice").empty()) << "the slice made for it was left";
}

TEST(Lifecycle, OrphansOfAContainerWithoutPidNamespaceAreReapedAndKilled) {
    Runtime runtime;
    // Without a pid namespace the orphan's pid is the host's: the container prints it.
    Bundle bundle({"sh", "-c", "sleep 300 & echo $!; exit 0"});
    auto& nss = bundle.config()["linux"]["namespaces"];
    json kept = json::array();
    for (auto& ns : nss)
        if (ns["type"] != "pid") kept.push_back(ns);
    nss = kept;
    bundle.write();
    std::string id = unique_id("orphan");
    ContainerGuard guard(runtime, id);
    auto r = runtime({"run", "--bundle", bundle.path(), id});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    std::string pid = r.out.substr(0, r.out.find('\n'));
    ASSERT_FALSE(pid.empty()) << r.describe();
    // Gone entirely when run returns: killed with the container's cgroup and collected by
    // the runtime (a subreaper), not left running or as a zombie for pid 1 to find.
    EXPECT_FALSE(fs::exists("/proc/" + pid)) << "process " << pid << " outlived its container";
}

TEST(Lifecycle, HomeComesFromTheContainersPasswd) {
    Runtime runtime;
    Bundle bundle({"sh", "-c", "echo $HOME"});
    bundle.config()["process"]["env"] = {"PATH=/bin"};
    bundle.config()["process"]["user"] = {{"uid", 1}, {"gid", 1}};
    bundle.write();
    std::string id = unique_id("home");
    ContainerGuard guard(runtime, id);
    auto r = runtime({"run", "--bundle", bundle.path(), id});
    EXPECT_EQ(r.out, "/usr/sbin\n") << r.describe();  // daemon's home in the busybox passwd
}
