// The engine end to end, through the berth CLI with a private root: containers from the
// busybox image, their exit codes and defaults, logs, exec with a pty, stop, published
// ports fetched with curl, user networks, volumes, restart policies, OOM kills, health
// checks, bad input, and SIGKILLed CLIs and monitors. Every test removes what it made in
// TearDown (also after a failed assertion) and checks that nothing is left: mounts,
// cgroups, network namespaces, veths, iptables rules, IPAM leases.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "support/fixture.hpp"
#include "support/http_server.hpp"
#include "support/images.hpp"

namespace fs = std::filesystem;
using namespace berth::test;
using namespace std::chrono_literals;

namespace {

std::string host_address() {
    auto r = run_command({"sh", "-c", "hostname -I | cut -d' ' -f1"});
    return trimmed(r.out);
}

class EngineTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        archive_dir_ = new TempDir("berth-engine-image");
        archive_ = make_busybox_image(archive_dir_->path());
    }
    static void TearDownTestSuite() {
        delete archive_dir_;
        archive_dir_ = nullptr;
    }

    void SetUp() override {
        auto r = berth({"load", "-i", archive_});
        ASSERT_EQ(r.exit_code, 0) << r.describe();
    }

    void TearDown() override {
        std::vector<std::string> ids = lines_of(berth({"ps", "-aq"}).out);
        std::vector<std::string> full_ids;
        for (const auto& id : ids) {
            auto j = inspect(id);
            if (j.is_object()) {
                full_ids.push_back(j["Id"]);
            }
            berth({"rm", "-f", "-v", id});
        }
        std::vector<std::string> network_ids;
        for (const auto& n : lines_of(berth({"network", "ls", "-q"}).out)) {
            auto j = nlohmann::json::parse(berth({"network", "inspect", n}).out, nullptr, false);
            if (j.is_array() && !j.empty()) network_ids.push_back(j[0]["Id"]);
            EXPECT_EQ(berth({"network", "rm", n}).exit_code, 0) << n;
        }
        berth({"volume", "prune", "-a"});
        EXPECT_EQ(berth({"ps", "-aq"}).out, "");
        EXPECT_EQ(mounts_under(berth.root()), std::vector<std::string>{});
        EXPECT_TRUE(eventually([&] {
            return container_dirs_in(berth.root() + "/containers").empty();
        })) << "container directories left: "
            << ::testing::PrintToString(container_dirs_in(berth.root() + "/containers"));
        std::string iptables = run_command({"iptables-save"}).out;
        for (const auto& id : full_ids) {
            EXPECT_EQ(cgroup_dirs_named(id), std::vector<std::string>{}) << id;
            EXPECT_EQ(iptables.find(id), std::string::npos)
                << "iptables rules of " << id << " left";
        }
        for (const auto& id : network_ids)  // the network's own masquerade and forward rules
            EXPECT_EQ(iptables.find("berth network " + id.substr(0, 12)), std::string::npos);
        for (const auto& id : known_ids_)
            EXPECT_EQ(iptables.find(id), std::string::npos)
                << "iptables rules of " << id << " left";
        std::string run_dir = run_root();
        if (!run_dir.empty()) {
            std::error_code ec;
            for (const auto& sub : {"/netns", "/runtime", "/console"}) {
                if (!fs::exists(run_dir + sub)) continue;
                for (const auto& entry : fs::directory_iterator(run_dir + sub, ec))
                    if (!entry.path().filename().string().starts_with("."))  // the seccomp cache
                        ADD_FAILURE() << "left in the run directory: " << entry.path();
            }
            if (fs::exists(run_dir + "/cni"))
                for (const auto& net : fs::directory_iterator(run_dir + "/cni", ec))
                    for (const auto& lease : fs::directory_iterator(net.path(), ec)) {
                        std::string name = lease.path().filename();
                        if (name.find('.') != std::string::npos && name != "lock" &&
                            !name.starts_with("last_reserved_ip"))
                            ADD_FAILURE() << "IPAM lease left: " << lease.path();
                    }
            run_command({"rm", "-rf", run_dir});
        }
    }

    std::string run_root() {
        auto r = berth({"info"});
        auto j = nlohmann::json::parse(r.out, nullptr, false);
        return j.is_object() ? j.value("RunRoot", "") : "";
    }

    nlohmann::json inspect(const std::string& name) {
        auto r = berth({"inspect", name});
        auto j = nlohmann::json::parse(r.out, nullptr, false);
        if (!j.is_array() || j.empty()) return nullptr;
        return j[0];
    }

    // berth run ARGS: the CLI's result.
    CommandResult run(const std::vector<std::string>& args, const CommandOptions& options = {}) {
        std::vector<std::string> argv = {"run"};
        argv.insert(argv.end(), args.begin(), args.end());
        return berth(argv, options);
    }

    std::string run_detached(const std::vector<std::string>& args) {
        std::vector<std::string> argv = {"-d"};
        argv.insert(argv.end(), args.begin(), args.end());
        auto r = run(argv);
        EXPECT_EQ(r.exit_code, 0) << r.describe();
        std::string id = trimmed(r.out);
        known_ids_.push_back(id);
        return id;
    }

    static TempDir* archive_dir_;
    static std::string archive_;
    Berth berth;
    std::vector<std::string> known_ids_;
    const std::string image_ = "localhost/busybox";
};

TempDir* EngineTest::archive_dir_ = nullptr;
std::string EngineTest::archive_;

TEST_F(EngineTest, RunPrintsOutputAndRemovesWithRm) {
    auto r = run({"--rm", "--network", "none", image_, "sh", "-c", "echo out; echo err >&2"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out, "out\n");
    EXPECT_EQ(r.err, "err\n");
    EXPECT_EQ(berth({"ps", "-aq"}).out, "");
    EXPECT_EQ(mounts_under(berth.root()), std::vector<std::string>{});
    // Gone from containers/ when run returns; what its monitor deletes after the report (the
    // directory, in the trash) goes soon after, and what a monitor killed in between left
    // there goes with the next create.
    std::string containers = berth.root() + "/containers";
    for (const auto& entry : fs::directory_iterator(containers))
        EXPECT_EQ(entry.path().filename(), ".trash");
    EXPECT_TRUE(eventually([&] { return container_dirs_in(containers).empty(); }));
    fs::create_directories(containers + "/.trash/left-by-a-killed-monitor/upper/etc");
    auto again = run({"--rm", "--network", "none", image_, "true"});
    EXPECT_EQ(again.exit_code, 0) << again.describe();
    EXPECT_TRUE(eventually([&] { return container_dirs_in(containers).empty(); }))
        << ::testing::PrintToString(container_dirs_in(containers));
}

TEST_F(EngineTest, RelativeRootWorks) {
    CommandOptions beside;
    beside.cwd = fs::path(berth.root()).parent_path().string();
    std::string relative = fs::path(berth.root()).filename().string();
    auto r = run_command({berth_binary(), "--root", relative, "--config", "/dev/null", "run",
                          "--rm", "--network", "none", image_, "echo", "ok"},
                         beside);
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out, "ok\n");
}

TEST_F(EngineTest, ExitCodesAsDocker) {
    EXPECT_EQ(run({"--rm", "--network", "none", image_, "sh", "-c", "exit 3"}).exit_code, 3);
    auto missing = run({"--rm", "--network", "none", image_, "/no/such/command"});
    EXPECT_EQ(missing.exit_code, 127) << missing.describe();
    auto not_executable = run({"--rm", "--network", "none", image_, "/etc/passwd"});
    EXPECT_EQ(not_executable.exit_code, 126) << not_executable.describe();
    // Under --init the shell is not pid 1, so SIGKILL from itself is not ignored.
    auto killed = run({"--rm", "--network", "none", "--init", image_, "sh", "-c", "kill -9 $$"});
    EXPECT_EQ(killed.exit_code, 137) << killed.describe();
    EXPECT_EQ(berth({"ps", "-aq"}).out, "");
}

TEST_F(EngineTest, FlagsAndDefaults) {
    auto r = run({"--rm", "--network", "none", "-e", "GREETING=hi", "-w", "/tmp", "-h", "boxhost",
                  "--entrypoint", "/bin/sh", image_, "-c",
                  "echo $GREETING; pwd; hostname; cat /etc/hostname; id -u; "
                  "grep CapEff /proc/self/status; grep Seccomp: /proc/self/status; "
                  "wc -c < /proc/timer_list; grep -c localhost /etc/hosts; test -s "
                  "/etc/resolv.conf && echo resolv"});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    auto lines = lines_of(r.out);
    ASSERT_EQ(lines.size(), 10U) << r.out;
    EXPECT_EQ(lines[0], "hi");
    EXPECT_EQ(lines[1], "/tmp");
    EXPECT_EQ(lines[2], "boxhost");
    EXPECT_EQ(lines[3], "boxhost");
    EXPECT_EQ(lines[4], "0");
    EXPECT_EQ(lines[5], "CapEff:\t00000000a80425fb");  // docker's default capability set
    EXPECT_EQ(lines[6], "Seccomp:\t2");                // a filter is on
    EXPECT_EQ(trimmed(lines[7]), "0");                 // masked
    EXPECT_EQ(lines[8], "2");
    EXPECT_EQ(lines[9], "resolv");

    auto user = run({"--rm", "--network", "none", "-u", "1000:1000", image_, "id"});
    EXPECT_EQ(trimmed(user.out), "uid=1000 gid=1000") << user.describe();
    auto ro = run({"--rm", "--network", "none", "--read-only", image_, "touch", "/x"});
    EXPECT_NE(ro.exit_code, 0);
    EXPECT_NE(ro.err.find("Read-only file system"), std::string::npos) << ro.describe();
    auto rw = run({"--rm", "--network", "none", image_, "touch", "/x"});
    EXPECT_EQ(rw.exit_code, 0) << rw.describe();
    auto privileged = run({"--rm", "--network", "none", "--cap-drop", "all", "--cap-add",
                           "NET_ADMIN", image_, "grep", "CapEff", "/proc/self/status"});
    EXPECT_EQ(trimmed(privileged.out), "CapEff:\t0000000000001000") << privileged.describe();
    CommandOptions with_input;
    with_input.input = "from stdin\n";
    auto stdin_run = run({"--rm", "-i", "--network", "none", image_, "cat"}, with_input);
    EXPECT_EQ(stdin_run.out, "from stdin\n") << stdin_run.describe();
}

TEST_F(EngineTest, DetachedLifecycleAndStopSignal) {
    std::string id = run_detached(
        {"--name", "sleeper", "--network", "none", "--stop-signal", "USR1", image_, "sh", "-c",
         "trap 'echo got USR1; exit 7' USR1; while true; do sleep 0.1; done"});
    ASSERT_EQ(id.size(), 64U);
    auto ps = berth({"ps", "--format", "json"});
    auto list = nlohmann::json::parse(ps.out, nullptr, false);
    ASSERT_TRUE(list.is_array() && list.size() == 1) << ps.describe();
    EXPECT_EQ(list[0]["State"], "running");
    EXPECT_EQ(list[0]["Names"][0], "sleeper");
    auto exec = berth({"exec", "-e", "X=1", "sleeper", "sh", "-c", "echo $X; exit 4"});
    EXPECT_EQ(exec.exit_code, 4);
    EXPECT_EQ(exec.out, "1\n");
    EXPECT_NE(berth({"top", "sleeper"}).out.find("sleep"), std::string::npos);
    EXPECT_EQ(berth({"exec", "sleeper", "/no/such/command"}).exit_code, 127);
    EXPECT_EQ(berth({"exec", "sleeper", "/etc/passwd"}).exit_code, 126);

    auto t0 = std::chrono::steady_clock::now();
    auto stop = berth({"stop", "-t", "5", "sleeper"});
    EXPECT_EQ(stop.exit_code, 0) << stop.describe();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 4s);  // the signal worked, no SIGKILL
    auto j = inspect("sleeper");
    EXPECT_EQ(j["State"]["Status"], "exited");
    EXPECT_EQ(j["State"]["ExitCode"], 7);
    EXPECT_NE(berth({"logs", "sleeper"}).out.find("got USR1"), std::string::npos);
    EXPECT_EQ(trimmed(berth({"wait", "sleeper"}).out), "7");

    // A process that ignores the stop signal is killed after the timeout.
    run_detached({"--name", "stubborn", "--network", "none", image_, "sh", "-c",
                  "trap '' TERM; while true; do sleep 0.1; done"});
    t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(berth({"stop", "-t", "1", "stubborn"}).exit_code, 0);
    auto elapsed = std::chrono::steady_clock::now() - t0;
    EXPECT_GE(elapsed, 900ms);
    EXPECT_LT(elapsed, 6s);
    EXPECT_EQ(inspect("stubborn")["State"]["ExitCode"], 137);

    // restart, rename, rm of a running container refused without -f.
    EXPECT_EQ(berth({"start", "stubborn"}).exit_code, 0);
    EXPECT_EQ(inspect("stubborn")["State"]["Status"], "running");
    EXPECT_EQ(berth({"rename", "stubborn", "renamed"}).exit_code, 0);
    auto refused = berth({"rm", "renamed"});
    EXPECT_NE(refused.exit_code, 0);
    EXPECT_NE(refused.err.find("running"), std::string::npos) << refused.describe();
    EXPECT_EQ(berth({"rm", "-f", "renamed"}).exit_code, 0);
    EXPECT_EQ(inspect("renamed"), nullptr);
}

TEST_F(EngineTest, LogsFollowTailAndCriFormat) {
    std::string id =
        run_detached({"--network", "none", image_, "sh", "-c",
                      "for i in 1 2 3; do echo line$i; echo err$i >&2; sleep 0.3; done"});
    CommandOptions patient;
    patient.timeout = 20s;
    auto follow = berth({"logs", "-f", id}, patient);
    EXPECT_EQ(follow.exit_code, 0);
    EXPECT_EQ(follow.out, "line1\nline2\nline3\n");
    EXPECT_EQ(follow.err, "err1\nerr2\nerr3\n");
    auto tail = berth({"logs", "--tail", "2", id});  // the last two lines of both streams
    EXPECT_EQ(tail.out, "line3\n");
    EXPECT_EQ(tail.err, "err3\n");
    auto stamped = lines_of(berth({"logs", "-t", id}).out);
    ASSERT_EQ(stamped.size(), 3U);
    EXPECT_EQ(stamped[0].substr(stamped[0].find(' ') + 1), "line1");
    EXPECT_EQ(stamped[0][4], '-');
    // The file itself: CRI records.
    std::ifstream file(berth.root() + "/containers/" + id + "/container.log");
    std::string first;
    std::getline(file, first);
    EXPECT_NE(first.find(" stdout F line1"), std::string::npos) << first;
}

// A flood of numbered lines (stdout) and of long ones (stderr, over the 16 KiB of a record),
// written as fast as the container can: `logs` gives every line back, whole and in order.
TEST_F(EngineTest, LogFloodIsReadBackWithoutLostOrTornLines) {
    std::string id = run_detached(
        {"--network", "none", image_, "sh", "-c",
         "seq 1 300000; i=0; while [ $i -lt 20 ]; do head -c 40000 /dev/zero | tr '\\0' x >&2; "
         "echo >&2; i=$((i+1)); done"});
    ASSERT_TRUE(eventually([&] { return inspect(id)["State"]["Status"] == "exited"; }, 60s));
    CommandOptions patient;
    patient.timeout = 60s;
    auto logs = berth({"logs", id}, patient);
    ASSERT_EQ(logs.exit_code, 0) << logs.err.substr(0, 200);
    const auto lines = lines_of(logs.out);
    ASSERT_EQ(lines.size(), 300000U);
    for (size_t i = 0; i < lines.size(); ++i)
        ASSERT_EQ(lines[i], std::to_string(i + 1)) << "line " << i + 1;
    const auto long_lines = lines_of(logs.err);
    ASSERT_EQ(long_lines.size(), 20U);
    for (const auto& line : long_lines)
        EXPECT_EQ(line, std::string(40000, 'x'));
}

// A container that floods its log under --cpus 0.5: the container and its monitor together
// stay within about that (the monitor is charged to a parent cgroup that carries the limit),
// and pause freezes the container alone.
TEST_F(EngineTest, LogFloodStaysWithinTheContainersCpuLimit) {
    std::string id =
        run_detached({"--network", "none", "--cpus", "0.5", "--memory", "64m", image_, "yes"});
    const std::string dir = berth.root() + "/containers/" + id;
    // The monitor: the berth-monitor whose working directory is the container's.
    int monitor = 0;
    for (const auto& entry : fs::directory_iterator("/proc")) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::error_code ec;
        if (fs::read_symlink(entry.path() / "cwd", ec) == fs::path(dir)) monitor = std::stoi(name);
    }
    ASSERT_NE(monitor, 0);
    const int container = inspect(id)["State"]["Pid"].get<int>();
    auto cpu_seconds = [](int pid) {
        std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::istringstream fields(text.substr(text.rfind(')') + 2));
        std::string skipped;
        for (int field = 3; field < 14; ++field)
            fields >> skipped;
        long user = 0, system = 0;
        fields >> user >> system;
        return static_cast<double>(user + system) / static_cast<double>(::sysconf(_SC_CLK_TCK));
    };
    std::this_thread::sleep_for(1s);
    const double before = cpu_seconds(monitor) + cpu_seconds(container);
    std::this_thread::sleep_for(5s);
    const double used = cpu_seconds(monitor) + cpu_seconds(container) - before;
    EXPECT_LT(used / 5, 0.6) << "cores used by the container and its monitor";
    // Whatever the machine's load, the monitor's CPU is bounded by the container's limit: its
    // cpu cgroup, or one above it, has a quota of at most half a core.
    std::string cpu_cgroup;
    std::ifstream monitor_cgroups("/proc/" + std::to_string(monitor) + "/cgroup");
    for (std::string line; std::getline(monitor_cgroups, line);) {
        const size_t at = line.find(":cpu:");
        if (at == std::string::npos) continue;
        cpu_cgroup = line.substr(at + 5);
    }
    bool bounded = false;
    for (std::string group = cpu_cgroup; !group.empty() && group != "/";
         group = group.substr(0, group.rfind('/'))) {
        std::ifstream quota_file("/sys/fs/cgroup/cpu" + group + "/cpu.cfs_quota_us");
        std::ifstream period_file("/sys/fs/cgroup/cpu" + group + "/cpu.cfs_period_us");
        long quota = -1, period = 0;
        quota_file >> quota;
        period_file >> period;
        if (quota > 0 && period > 0 && quota * 2 <= period) bounded = true;
    }
    EXPECT_TRUE(bounded) << "the monitor's cpu cgroup: " << cpu_cgroup;
    EXPECT_TRUE(fs::exists(dir + "/container.log.1")) << "a flood rotates the log";
    // Pause freezes the container, not its monitor.
    ASSERT_EQ(berth({"pause", id}).exit_code, 0);
    std::ifstream cgroups("/proc/" + std::to_string(monitor) + "/cgroup");
    for (std::string line; std::getline(cgroups, line);) {
        if (line.find(":freezer:") != std::string::npos) {
            EXPECT_EQ(line.find("/container"), std::string::npos) << line;
        }
    }
    std::ifstream stat("/proc/" + std::to_string(monitor) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    EXPECT_NE(text[text.rfind(')') + 2], 'D') << text;
    EXPECT_EQ(berth({"unpause", id}).exit_code, 0);
}

TEST_F(EngineTest, AttachedRunPassesSignalsOn) {
    BackgroundCommand cli({berth_binary(), "--root", berth.root(), "--config", "/dev/null", "run",
                           "--name", "trapper", "--network", "none", image_, "sh", "-c",
                           "trap 'exit 42' INT; while true; do sleep 0.1; done"});
    ASSERT_TRUE(eventually([&] {
        auto j = inspect("trapper");
        return j.is_object() && j["State"]["Status"] == "running";
    }));
    std::this_thread::sleep_for(200ms);  // the trap is set
    cli.signal(SIGINT);
    EXPECT_EQ(cli.wait(10s), 42);
    EXPECT_EQ(inspect("trapper")["State"]["ExitCode"], 42);
}

TEST_F(EngineTest, ExecAndRunWithTerminal) {
    run_detached({"--name", "box", "--network", "none", image_, "sleep", "60"});
    auto exec = run_with_terminal({berth_binary(), "--root", berth.root(), "--config", "/dev/null",
                                   "exec", "-it", "box", "sh", "-c", "tty; exit 5"});
    EXPECT_EQ(exec.exit_code, 5) << exec.describe();
    EXPECT_NE(exec.out.find("/dev/pts/"), std::string::npos) << exec.describe();
    auto interactive = run_with_terminal({berth_binary(), "--root", berth.root(), "--config",
                                          "/dev/null", "run", "--rm", "-it", "--network", "none",
                                          image_, "sh", "-c", "tty; stty size; exit 6"});
    EXPECT_EQ(interactive.exit_code, 6) << interactive.describe();
    EXPECT_NE(interactive.out.find("/dev/pts/0"), std::string::npos) << interactive.describe();
}

TEST_F(EngineTest, PublishedWebServerReachableWithCurl) {
    int port = free_port();
    std::string id =
        run_detached({"--name", "web", "-p", std::to_string(port) + ":80", image_, "sh", "-c",
                      "echo hello-from-berth > /tmp/index.html; httpd -f -p 80 -h /tmp"});
    std::string url = "http://127.0.0.1:" + std::to_string(port) + "/index.html";
    CommandResult curl;
    ASSERT_TRUE(eventually([&] {
        curl = run_command({"curl", "-sf", "-m", "2", url});
        return curl.exit_code == 0;
    })) << curl.describe();
    EXPECT_EQ(curl.out, "hello-from-berth\n");
    auto external =
        run_command({"curl", "-sf", "-m", "2",
                     "http://" + host_address() + ":" + std::to_string(port) + "/index.html"});
    EXPECT_EQ(external.out, "hello-from-berth\n") << external.describe();
    EXPECT_EQ(trimmed(berth({"port", "web"}).out), "80/tcp -> 0.0.0.0:" + std::to_string(port));

    // The same host port again: refused, nothing made.
    auto clash = run({"-d", "-p", std::to_string(port) + ":80", image_, "sleep", "5"});
    EXPECT_EQ(clash.exit_code, 125) << clash.describe();
    EXPECT_NE(clash.err.find("already allocated"), std::string::npos) << clash.describe();
    EXPECT_EQ(lines_of(berth({"ps", "-q"}).out).size(), 1U);

    EXPECT_EQ(berth({"rm", "-f", "web"}).exit_code, 0);
    EXPECT_NE(run_command({"curl", "-sf", "-m", "1", url}).exit_code, 0);
    EXPECT_EQ(run_command({"iptables-save"}).out.find(id), std::string::npos);
}

TEST_F(EngineTest, UserNetworkResolvesNames) {
    ASSERT_EQ(berth({"network", "create", "backend"}).exit_code, 0);
    auto nets = berth({"network", "inspect", "backend"});
    auto j = nlohmann::json::parse(nets.out, nullptr, false);
    ASSERT_TRUE(j.is_array()) << nets.describe();
    std::string bridge = j[0]["Options"]["bridge"];
    run_detached({"--name", "db", "--network", "backend", image_, "sh", "-c",
                  "echo db-says-hi > /tmp/index.html; httpd -f -p 8080 -h /tmp"});
    auto client = run(
        {"--rm", "--network", "backend", image_, "sh", "-c",
         "for i in 1 2 3 4 5 6 7 8 9 10; do "
         "printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc db 8080 | tail -1 | grep . && exit 0; "
         "sleep 0.2; done; exit 1"});
    EXPECT_EQ(client.exit_code, 0) << client.describe();
    EXPECT_EQ(client.out, "db-says-hi\n");
    // The server sees the client's name too while it runs.
    run_detached({"--name", "web", "--network", "backend", image_, "sleep", "60"});
    auto hosts = berth({"exec", "db", "cat", "/etc/hosts"});
    EXPECT_NE(hosts.out.find("\tweb"), std::string::npos) << hosts.out;

    // connect/disconnect: a container on the default network joins backend and finds db.
    run_detached({"--name", "late", image_, "sleep", "60"});
    EXPECT_EQ(berth({"network", "connect", "backend", "late"}).exit_code, 0);
    auto joined =
        berth({"exec", "late", "sh", "-c",
               "ip -o -4 addr show eth1 | wc -l; ping -c1 -W2 db >/dev/null && echo reached"});
    EXPECT_EQ(joined.out, "1\nreached\n") << joined.describe();
    EXPECT_EQ(berth({"network", "disconnect", "backend", "late"}).exit_code, 0);
    auto left = berth({"exec", "late", "sh", "-c",
                       "ip -o link show eth1 2>/dev/null | wc -l; grep -c -w db /etc/hosts"});
    EXPECT_EQ(left.out, "0\n0\n") << left.describe();

    auto busy = berth({"network", "rm", "backend"});
    EXPECT_NE(busy.exit_code, 0);
    EXPECT_EQ(berth({"rm", "-f", "db", "web", "late"}).exit_code, 0);
    EXPECT_EQ(berth({"network", "rm", "backend"}).exit_code, 0);
    EXPECT_NE(run_command({"ip", "link", "show", bridge}).exit_code, 0)
        << "bridge " << bridge << " left";
}

// The default bridge's DEL is run by the container's monitor itself; after a network
// connect it leaves the whole cleanup to `berth container-cleanup`. Either way nothing of
// the container stays: no lease, veth, namespace or row.
TEST_F(EngineTest, BridgeIsReleasedByTheMonitorAndAfterAConnect) {
    auto leases = [&] {
        std::vector<std::string> found;
        std::error_code ec;
        for (const auto& net : fs::directory_iterator(run_root() + "/cni", ec))
            for (const auto& lease : fs::directory_iterator(net.path(), ec)) {
                std::string name = lease.path().filename();
                if (name.find('.') != std::string::npos && !name.starts_with("last_reserved_ip"))
                    found.push_back(lease.path());
            }
        return found;
    };
    auto veths = [] {
        return lines_of(run_command({"ip", "-o", "link", "show", "type", "veth"}).out);
    };
    auto gone = [&] {
        for (int i = 0; i < 500; ++i) {
            if (berth({"ps", "-aq"}).out.empty()) return true;
            ::usleep(10000);
        }
        return false;
    };
    const auto veths_before = veths();

    auto r = run({"--rm", image_, "sh", "-c", "ip -o -4 addr show eth0 | wc -l"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out, "1\n");                  // it had its address on the bridge
    EXPECT_EQ(berth({"ps", "-aq"}).out, "");  // run --rm returns once the container is gone
    EXPECT_EQ(leases(), std::vector<std::string>{});
    EXPECT_EQ(veths(), veths_before);

    // Kept (no --rm): the monitor releases the bridge and clears the attachment.
    std::string kept = run_detached({image_, "true"});
    EXPECT_EQ(trimmed(berth({"wait", kept}).out), "0");
    for (int i = 0; i < 500 && !leases().empty(); ++i)
        ::usleep(10000);
    EXPECT_EQ(leases(), std::vector<std::string>{});
    EXPECT_EQ(veths(), veths_before);
    EXPECT_EQ(berth({"rm", kept}).exit_code, 0);

    // Connected to a second network while it runs: the cleanup command releases both.
    ASSERT_EQ(berth({"network", "create", "side"}).exit_code, 0);
    std::string hop = run_detached({"--rm", image_, "sleep", "2"});
    ASSERT_EQ(berth({"network", "connect", "side", hop}).exit_code, 0);
    EXPECT_EQ(leases().size(), 2u);
    EXPECT_TRUE(gone()) << "the --rm container is still listed";
    EXPECT_EQ(leases(), std::vector<std::string>{});
    EXPECT_EQ(veths(), veths_before);
    EXPECT_EQ(berth({"network", "rm", "side"}).exit_code, 0);
}

// The CNI ADD runs while the runtime creates the container; when it fails, the monitor is
// told through its gate, deletes what the runtime made, and nothing is left (TearDown checks
// the namespaces, leases, cgroups and runtime state).
TEST_F(EngineTest, NetworkThatCannotBeSetUpLeavesNothing) {
    TempDir no_plugins;
    CommandOptions broken;
    broken.env = {"BERTH_CNI_PATH=" + no_plugins.path()};
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"run", "--rm", image_, "true"},
          std::vector<std::string>{"run", image_, "true"},
          std::vector<std::string>{"run", "-d", image_, "sleep", "60"}}) {
        auto r = berth(args, broken);
        EXPECT_EQ(r.exit_code, 125) << r.describe();
        auto errs = lines_of(r.err);
        ASSERT_EQ(errs.size(), 1U) << r.describe();
        EXPECT_NE(errs[0].find("CNI plugin bridge"), std::string::npos) << errs[0];
        EXPECT_EQ(berth({"ps", "-aq"}).out, "") << "left by: " << args[1];
    }
    // start of a created container: the start fails, the container stays, rm removes it.
    auto created = berth({"create", "--name", "later", image_, "true"});
    ASSERT_EQ(created.exit_code, 0) << created.describe();
    known_ids_.push_back(trimmed(created.out));
    auto started = berth({"start", "-a", "later"}, broken);
    EXPECT_NE(started.exit_code, 0) << started.describe();
    EXPECT_NE(started.err.find("CNI plugin bridge"), std::string::npos) << started.describe();
    for (int i = 0; i < 500 && inspect("later")["State"].value("Status", "") == "running"; ++i)
        ::usleep(10000);
    EXPECT_NE(inspect("later")["State"].value("Status", ""), "running");
    // Started again with the plugins there, it runs.
    auto again = berth({"start", "-a", "later"});
    EXPECT_EQ(again.exit_code, 0) << again.describe();
    EXPECT_EQ(berth({"rm", "later"}).exit_code, 0);
}

// The monitor ignores SIGPIPE and blocks the signals its signalfd reads (and whoever started
// berth may ignore more): ignored signals and the mask survive exec, so the runtime puts every
// signal back to its default and unblocks them all. Nothing of the monitor's (database, log,
// sockets) reaches the container: its fds are its stdio. The same whether the monitor
// creates the container itself or (--privileged keeps CAP_SYS_PTRACE: a sealed copy of
// the runtime) runs berth-runtime.
TEST_F(EngineTest, ContainerStartsWithDefaultSignalsAndOnlyItsStdio) {
    for (const std::string network : {"none", "bridge"}) {
        for (const std::string privileged : {"", "--privileged"}) {
            std::vector<std::string> args = {"--rm", "--network", network};
            if (!privileged.empty()) args.push_back(privileged);
            args.insert(args.end(),
                        {image_, "sh", "-c",
                         "grep -E 'Sig(Blk|Ign)' /proc/self/status; yes | head -c 2 >/dev/null; "
                         "echo $?; ls /proc/self/fd | tr '\\n' ' '"});
            auto r = run(args);
            EXPECT_EQ(r.exit_code, 0) << r.describe();
            EXPECT_EQ(r.out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n0\n0 1 2 3 ")
                << network << privileged;
            EXPECT_EQ(r.err, "") << network << privileged;  // yes is killed by SIGPIPE
        }
    }
}

TEST_F(EngineTest, AnotherRuntimeIsRunAsAProgram) {
    // The monitor calls the start and delete of the berth-runtime installed beside it; any
    // other runtime is run as a program: a copy of berth-runtime elsewhere, and runc.
    TempDir dir("berth-other-runtime");
    std::string copy = dir.path() + "/berth-runtime";
    fs::copy_file(runtime_binary(), copy);
    std::vector<std::string> runtimes = {copy};
    if (::access("/usr/sbin/runc", X_OK) == 0) runtimes.emplace_back("/usr/sbin/runc");
    for (const auto& runtime : runtimes) {
        auto none = run({"--rm", "--runtime", runtime, "--network", "none", image_, "sh", "-c",
                         "echo hi; exit 3"});
        EXPECT_EQ(none.exit_code, 3) << runtime << ": " << none.describe();
        EXPECT_EQ(none.out, "hi\n") << runtime;
        // The bridge: create, then `start` once the CLI's ADD is done.
        auto bridge = run({"--rm", "--runtime", runtime, image_, "sh", "-c", "echo up"});
        EXPECT_EQ(bridge.exit_code, 0) << runtime << ": " << bridge.describe();
        EXPECT_EQ(bridge.out, "up\n") << runtime;
        // A command that cannot be found: 127 from the runtime's start, nothing left.
        auto missing = run({"--rm", "--runtime", runtime, image_, "no-such-command"});
        EXPECT_EQ(missing.exit_code, 127) << runtime << ": " << missing.describe();
        // A kept container: its runtime state is deleted at the exit, the row stays.
        std::string id = run_detached({"--runtime", runtime, "--network", "none", image_, "true"});
        EXPECT_EQ(trimmed(berth({"wait", id}).out), "0") << runtime;
        auto j = inspect(id);
        ASSERT_TRUE(j.is_object()) << runtime;
        std::string state_dir = run_root() + "/runtime/" + j["Id"].get<std::string>();
        for (int i = 0; i < 200 && fs::exists(state_dir); ++i)
            std::this_thread::sleep_for(10ms);
        EXPECT_FALSE(fs::exists(state_dir)) << runtime;
        EXPECT_EQ(berth({"rm", id}).exit_code, 0) << runtime;
    }
    // The built-in runtime: the same through the monitor's library calls.
    auto builtin = run({"--rm", image_, "no-such-command"});
    EXPECT_EQ(builtin.exit_code, 127) << builtin.describe();
}

TEST_F(EngineTest, HostAndContainerNetworkModes) {
    // host: the host's interfaces; none: loopback only.
    auto host_links = run_command({"sh", "-c", "ls /sys/class/net | sort"});
    auto host = run({"--rm", "--network", "host", image_, "sh", "-c", "ls /sys/class/net | sort"});
    EXPECT_EQ(host.out, host_links.out) << host.describe();
    // none: loopback only, and up (a server on 127.0.0.1 answers).
    auto none = run({"--rm", "--network", "none", image_, "sh", "-c",
                     "ls /sys/class/net; echo hi > /tmp/i; httpd -p 127.0.0.1:8080 -h /tmp; "
                     "printf 'GET /i HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 8080 | tail -1"});
    EXPECT_EQ(none.out, "lo\nhi\n") << none.describe();
    // container:NAME: the other container's namespace, its address and its listening port.
    run_detached({"--name", "server", image_, "sh", "-c",
                  "echo shared > /tmp/index.html; httpd -f -p 8080 -h /tmp"});
    std::string ip = inspect("server")["NetworkSettings"]["Networks"]["bridge"]["IPAddress"];
    ASSERT_FALSE(ip.empty());
    auto joined =
        run({"--rm", "--network", "container:server", image_, "sh", "-c",
             "ip -o -4 addr show eth0 | grep -c " + ip +
                 "; printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 8080 | tail -1"});
    EXPECT_EQ(joined.out, "1\nshared\n") << joined.describe();
}

TEST_F(EngineTest, SystemDfCountsContainersAndVolumes) {
    auto df = [&] {
        auto r = berth({"system", "df", "--format", "json"});
        EXPECT_EQ(r.exit_code, 0) << r.describe();
        return nlohmann::json::parse(r.out, nullptr, false);
    };
    // 3 MiB in the writable layer, 2 MiB in a volume, while the container runs.
    run_detached({"--name", "writer", "--network", "none", "-v", "dfdata:/data", image_, "sh", "-c",
                  "dd if=/dev/zero of=/big bs=1M count=3 2>/dev/null; "
                  "dd if=/dev/zero of=/data/v bs=1M count=2 2>/dev/null; touch /done; sleep 600"});
    for (int i = 0; i < 100 && berth({"exec", "writer", "test", "-e", "/done"}).exit_code != 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto running = df();
    EXPECT_EQ(running["Images"]["Active"], 1);
    EXPECT_EQ(running["Containers"]["Count"], 1);
    EXPECT_EQ(running["Containers"]["Active"], 1);
    EXPECT_GE(running["Containers"]["Size"].get<int64_t>(), 3 << 20);
    EXPECT_EQ(running["Containers"]["Reclaimable"], 0);
    EXPECT_EQ(running["Volumes"]["Active"], 1);
    EXPECT_GE(running["Volumes"]["Size"].get<int64_t>(), 2 << 20);
    EXPECT_EQ(running["Volumes"]["Reclaimable"], 0);
    // Stopped: its layer is reclaimable; removed: the volume no one mounts is.
    ASSERT_EQ(berth({"kill", "writer"}).exit_code, 0);
    berth({"wait", "writer"});
    auto stopped = df();
    EXPECT_EQ(stopped["Containers"]["Active"], 0);
    EXPECT_EQ(stopped["Containers"]["Reclaimable"], stopped["Containers"]["Size"]);
    ASSERT_EQ(berth({"rm", "writer"}).exit_code, 0);
    auto removed = df();
    EXPECT_EQ(removed["Containers"]["Count"], 0);
    EXPECT_EQ(removed["Images"]["Active"], 0);
    EXPECT_EQ(removed["Volumes"]["Active"], 0);
    EXPECT_GE(removed["Volumes"]["Reclaimable"].get<int64_t>(), 2 << 20);
    auto table = berth({"system", "df"});
    EXPECT_NE(table.out.find("Local Volumes"), std::string::npos) << table.describe();
    EXPECT_EQ(berth({"volume", "rm", "dfdata"}).exit_code, 0);
}

TEST_F(EngineTest, VolumesPersistAndCopyUp) {
    EXPECT_EQ(run({"--rm", "--network", "none", "-v", "data:/data", image_, "sh", "-c",
                   "echo kept > /data/f"})
                  .exit_code,
              0);
    auto again = run({"--rm", "--network", "none", "-v", "data:/data", image_, "cat", "/data/f"});
    EXPECT_EQ(again.out, "kept\n") << again.describe();
    // An empty named volume starts with the image's files at its mount point.
    auto copied = run({"--rm", "--network", "none", "-v", "etc:/etc", image_, "grep", "-c", "root",
                       "/etc/passwd"});
    EXPECT_EQ(copied.exit_code, 0) << copied.describe();
    // Bind mounts and tmpfs.
    TempDir host("berth-engine-bind");
    std::ofstream(host.path() + "/hello") << "from host\n";
    auto bind = run({"--rm", "--network", "none", "-v", host.path() + ":/host:ro", "--tmpfs",
                     "/scratch", image_, "sh", "-c",
                     "cat /host/hello; touch /host/x 2>/dev/null || echo ro; grep -c ' /scratch "
                     "tmpfs' /proc/mounts"});
    EXPECT_EQ(bind.out, "from host\nro\n1\n") << bind.describe();
    // An anonymous volume goes with rm -v; a named one stays.
    std::string id =
        run_detached({"--network", "none", "-v", "/anon", "-v", "data:/data", image_, "true"});
    berth({"wait", id});
    auto before = lines_of(berth({"volume", "ls", "-q"}).out);
    EXPECT_EQ(before.size(), 3U);
    EXPECT_EQ(berth({"rm", "-v", id}).exit_code, 0);
    auto after = lines_of(berth({"volume", "ls", "-q"}).out);
    EXPECT_EQ(after, (std::vector<std::string>{"data", "etc"}));
    EXPECT_EQ(berth({"volume", "rm", "data", "etc"}).exit_code, 0);
}

TEST_F(EngineTest, RestartOnFailureThreeTimes) {
    std::string id = run_detached({"--network", "none", "--restart", "on-failure:3", image_, "sh",
                                   "-c", "echo attempt; exit 1"});
    ASSERT_TRUE(eventually(
        [&] {
            auto j = inspect(id);
            return j.is_object() && j["State"]["Status"] == "exited" && j["RestartCount"] == 3 &&
                   j["MonitorPid"] == 0;
        },
        20s))
        << inspect(id).dump();
    EXPECT_EQ(inspect(id)["State"]["ExitCode"], 1);
    EXPECT_EQ(lines_of(berth({"logs", id}).out).size(), 4U);  // the run and three restarts
}

TEST_F(EngineTest, MemoryLimitExceededIsOomKilled) {
    auto r = run({"--name", "hog", "--network", "none", "--memory", "16m", image_, "sh", "-c",
                  "x=a; while true; do x=$x$x; done"});
    EXPECT_EQ(r.exit_code, 137) << r.describe();
    auto j = inspect("hog");
    EXPECT_EQ(j["State"]["OOMKilled"], true);
    EXPECT_EQ(j["State"]["ExitCode"], 137);
    EXPECT_EQ(j["HostConfig"]["Memory"], 16 * 1024 * 1024);
}

TEST_F(EngineTest, ResourceLimitsAndSecurityOptions) {
    std::string id =
        run_detached({"--network", "none", "--cpus", "0.5", "--pids-limit", "20", "--memory", "64m",
                      "--ulimit", "nofile=512:512", image_, "sleep", "60"});
    auto cgroup = [&](const std::string& file) {
        std::string value;
        std::ifstream("/sys/fs/cgroup/" + file.substr(0, file.find('/')) + "/berth/" + id + "/" +
                      file.substr(file.find('/') + 1)) >>
            value;
        return value;
    };
    EXPECT_EQ(cgroup("cpu/container/cpu.cfs_quota_us"), "50000");
    EXPECT_EQ(cgroup("cpu/container/cpu.cfs_period_us"), "100000");
    EXPECT_EQ(cgroup("pids/container/pids.max"), "20");
    EXPECT_EQ(cgroup("memory/container/memory.limit_in_bytes"), std::to_string(64 << 20));
    // The parent that holds the container and its monitor carries the CPU and memory limits
    // (made by the monitor once the container runs).
    EXPECT_TRUE(eventually([&] { return cgroup("cpu/cpu.cfs_quota_us") == "50000"; }))
        << cgroup("cpu/cpu.cfs_quota_us");
    EXPECT_EQ(cgroup("memory/memory.limit_in_bytes"), std::to_string(64 << 20));
    EXPECT_EQ(trimmed(berth({"exec", id, "sh", "-c", "ulimit -n"}).out), "512");
    auto unconfined = run({"--rm", "--network", "none", "--security-opt", "seccomp=unconfined",
                           image_, "grep", "Seccomp:", "/proc/self/status"});
    EXPECT_EQ(trimmed(unconfined.out), "Seccomp:\t0") << unconfined.describe();
    // A profile in docker's format (moby's own file): its rules for CAP_SYS_ADMIN ("includes")
    // apply when the container has it, and mount(2) passes.
    std::string moby = source_dir() + "/tests/fixtures/seccomp/moby-default.json";
    auto with_admin = run({"--rm", "--network", "none", "--cap-add", "SYS_ADMIN", "--security-opt",
                           "seccomp=" + moby, image_, "sh", "-c",
                           "grep Seccomp: /proc/self/status; mount -t tmpfs none /tmp && echo ok"});
    EXPECT_EQ(with_admin.out, "Seccomp:\t2\nok\n") << with_admin.describe();
    auto nnp = run({"--rm", "--network", "none", "--security-opt", "no-new-privileges", image_,
                    "grep", "NoNewPrivs:", "/proc/self/status"});
    EXPECT_EQ(trimmed(nnp.out), "NoNewPrivs:\t1") << nnp.describe();
    auto privileged = run({"--rm", "--network", "none", "--privileged", image_, "sh", "-c",
                           "grep Seccomp: /proc/self/status; test -w /sys && echo sys-writable"});
    EXPECT_EQ(privileged.out, "Seccomp:\t0\nsys-writable\n") << privileged.describe();
    auto device = run({"--rm", "--network", "none", "--device", "/dev/zero:/dev/zero2", image_,
                       "sh", "-c", "head -c 3 /dev/zero2 | wc -c"});
    EXPECT_EQ(trimmed(device.out), "3") << device.describe();
}

TEST_F(EngineTest, HealthCheckGoesUnhealthyThenHealthy) {
    std::string id =
        run_detached({"--network", "none", "--health-cmd", "test -f /tmp/ok", "--health-interval",
                      "200ms", "--health-retries", "2", image_, "sleep", "60"});
    EXPECT_TRUE(eventually([&] { return inspect(id)["State"]["Health"]["Status"] == "unhealthy"; }))
        << inspect(id).dump();
    berth({"exec", id, "touch", "/tmp/ok"});
    EXPECT_TRUE(eventually([&] { return inspect(id)["State"]["Health"]["Status"] == "healthy"; }))
        << inspect(id).dump();
}

TEST_F(EngineTest, BadInputFailsWithOneLineAndLeavesNothing) {
    ASSERT_EQ(berth({"volume", "create", "taken"}).exit_code, 0);
    run_detached({"--name", "taken", "--network", "none", image_, "sleep", "60"});
    int busy_port = free_port();
    int holder = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(busy_port));
    ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::listen(holder, 1);
    struct Case {
        std::vector<std::string> args;
        std::string fragment;
    };
    std::vector<Case> cases = {
        {{"--pull", "never", "localhost/no-such-image"}, "no such image"},
        {{"Invalid::Reference"}, "Invalid::Reference"},
        {{"-p", std::to_string(busy_port) + ":80", image_}, "already allocated"},
        {{"-v", "relative/path:/data", image_}, "invalid volume spec"},
        {{"-v", "data:not-absolute", image_}, "invalid volume spec"},
        {{"--network", "no-such-net", image_}, "network no-such-net not found"},
        {{"--name", "taken", image_}, "already in use"},
        {{"--restart", "sometimes", image_}, "restart policy"},
        {{"--memory", "lots", image_}, "invalid size"},
    };
    for (const auto& c : cases) {
        std::vector<std::string> args = {"--rm"};
        if (c.args[0] != "--restart") args = {};
        args.insert(args.end(), c.args.begin(), c.args.end());
        if (args.back() == image_) args.emplace_back("true");
        auto r = run(args);
        EXPECT_EQ(r.exit_code, 125) << r.describe();
        auto errs = lines_of(r.err);
        ASSERT_EQ(errs.size(), 1U) << r.describe();
        EXPECT_TRUE(errs[0].starts_with("berth: ")) << errs[0];
        EXPECT_NE(errs[0].find(c.fragment), std::string::npos) << errs[0];
        EXPECT_EQ(lines_of(berth({"ps", "-aq"}).out).size(), 1U)
            << "a container was left by " << errs[0];
        EXPECT_EQ(lines_of(berth({"volume", "ls", "-q"}).out), std::vector<std::string>{"taken"});
    }
    ::close(holder);
    EXPECT_EQ(mounts_under(berth.root() + "/containers").size(), 1U);  // the running one's rootfs
}

TEST_F(EngineTest, PauseCopyStatsRestartAndFriends) {
    run_detached({"--name", "box", "--network", "none", "-l", "tier=test", image_, "sh", "-c",
                  "while true; do date +%s%N > /tmp/tick; sleep 0.05; done"});
    EXPECT_EQ(berth({"pause", "box"}).exit_code, 0);
    EXPECT_EQ(inspect("box")["State"]["Status"], "paused");
    auto frozen = berth({"cp", "box:/tmp/tick", berth.root() + "/tick1"});
    EXPECT_EQ(frozen.exit_code, 0) << frozen.describe();
    std::this_thread::sleep_for(300ms);
    berth({"cp", "box:/tmp/tick", berth.root() + "/tick2"});
    std::string a, b;
    std::ifstream(berth.root() + "/tick1") >> a;
    std::ifstream(berth.root() + "/tick2") >> b;
    EXPECT_EQ(a, b);  // nothing ran while paused
    EXPECT_EQ(berth({"unpause", "box"}).exit_code, 0);
    EXPECT_EQ(inspect("box")["State"]["Status"], "running");

    std::ofstream(berth.root() + "/to-container") << "copied in\n";
    EXPECT_EQ(berth({"cp", berth.root() + "/to-container", "box:/tmp/in"}).exit_code, 0);
    EXPECT_EQ(berth({"exec", "box", "cat", "/tmp/in"}).out, "copied in\n");

    auto stats = berth({"stats", "--no-stream", "box"});
    EXPECT_EQ(stats.exit_code, 0) << stats.describe();
    EXPECT_NE(stats.out.find("box"), std::string::npos);
    EXPECT_EQ(lines_of(berth({"ps", "-q", "--filter", "label=tier=test"}).out).size(), 1U);
    EXPECT_EQ(lines_of(berth({"ps", "-q", "--filter", "label=tier=prod"}).out).size(), 0U);

    int pid_before = inspect("box")["State"]["Pid"];
    EXPECT_EQ(berth({"restart", "-t", "1", "box"}).exit_code, 0);
    auto after = inspect("box");
    EXPECT_EQ(after["State"]["Status"], "running");
    EXPECT_NE(after["State"]["Pid"].get<int>(), pid_before);
    EXPECT_NE(berth({"version"}).out.find("berth version"), std::string::npos);
    auto info = nlohmann::json::parse(berth({"info"}).out, nullptr, false);
    EXPECT_EQ(info.value("ContainersRunning", 0), 1);
    // inspect knows images as well as containers.
    auto image = berth({"inspect", image_});
    EXPECT_EQ(image.exit_code, 0) << image.describe();
    // system prune removes stopped containers only.
    run({"--name", "done", "--network", "none", image_, "true"});
    auto prune = berth({"system", "prune"});
    EXPECT_NE(prune.out.find("Deleted container"), std::string::npos) << prune.describe();
    EXPECT_EQ(inspect("done"), nullptr);
    EXPECT_EQ(inspect("box")["State"]["Status"], "running");
}

// `berth run` killed while its container is being created, its monitor with it (kill -9 of
// the command's process tree, or a monitor OOM-killed): at three moments of the creation -
// the row recorded, the runtime half-way through the container's set-up (thousands of
// mounts), the container recorded by the runtime. Whatever moment: `rm -f` leaves nothing, and
// no process of the container survives.
TEST_F(EngineTest, RunKilledWhileItsContainerIsCreatedLeavesNothingRmCannotRemove) {
    const std::string runtime_root = run_root() + "/runtime/";
    enum class Moment { row, setting_up, recorded };
    int round = 0;
    for (Moment moment : {Moment::row, Moment::setting_up, Moment::recorded}) {
        const std::string name = "slow" + std::to_string(round++);
        std::vector<std::string> argv = {berth_binary(), "--root",    berth.root(), "--config",
                                         "/dev/null",    "run",       "-d",         "--name",
                                         name,           "--network", "none"};
        for (int i = 0; i < 1000; ++i) {
            argv.emplace_back("--tmpfs");
            argv.push_back("/t" + std::to_string(i));
        }
        for (const char* word : {image_.c_str(), "sleep", "60"})
            argv.emplace_back(word);
        BackgroundCommand cli(argv);
        std::string id;
        const bool reached = eventually(
            [&] {
                if (id.empty()) {
                    auto j = inspect(name);
                    if (j.is_object()) id = j["Id"];
                }
                if (id.empty()) return false;
                const std::string state_dir = runtime_root + id;
                switch (moment) {
                    case Moment::row:
                        return true;
                    case Moment::setting_up:
                        return fs::exists(state_dir) && !fs::exists(state_dir + "/state.json");
                    case Moment::recorded:
                        return fs::exists(state_dir + "/state.json");
                }
                return false;
            },
            20s);
        // The CLI and the monitor; not the container's init (a fork of the monitor, whose
        // command line is the monitor's).
        auto program = [](pid_t pid) {
            std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
            std::string argv0;
            std::getline(in, argv0, '\0');
            return argv0;
        };
        auto parent_of = [](pid_t pid) {
            std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
            std::string text;
            std::getline(in, text);
            return static_cast<pid_t>(std::stoi(text.substr(text.rfind(')') + 4)));
        };
        for (pid_t pid : processes_mentioning(berth.root()))
            if (!program(parent_of(pid)).ends_with("berth-monitor")) ::kill(pid, SIGKILL);
        cli.signal(SIGKILL);
        cli.wait(5s);
        ASSERT_TRUE(reached) << name << ": the moment never came";
        auto rm = berth({"rm", "-f", name});
        EXPECT_EQ(rm.exit_code, 0) << name << ": " << rm.describe();
        EXPECT_EQ(inspect(name), nullptr) << name;
        EXPECT_TRUE(eventually([&] { return cgroup_dirs_named(id).empty(); }, 3s))
            << name << ": cgroup left: " << cgroup_dirs_named(id)[0];
        EXPECT_FALSE(fs::exists(runtime_root + id)) << name << ": runtime state left";
        auto alive = processes_mentioning(berth.root());
        EXPECT_TRUE(alive.empty()) << name << ": process " << alive[0] << " left";
    }
}

TEST_F(EngineTest, KilledMonitorAndCliLeaveNothingRmCannotClean) {
    // The monitor SIGKILLed: ps still shows the truth, rm -f cleans up.
    std::string id = run_detached({"--name", "orphan", image_, "sleep", "60"});
    auto j = inspect(id);
    int monitor = j["MonitorPid"];
    int pid = j["State"]["Pid"];
    ASSERT_GT(monitor, 0);
    ::kill(monitor, SIGKILL);
    ASSERT_TRUE(eventually([&] { return ::kill(monitor, 0) != 0; }));
    EXPECT_EQ(inspect(id)["State"]["Status"], "running");  // its process lives on
    ::kill(pid, SIGKILL);
    EXPECT_TRUE(eventually([&] { return inspect(id)["State"]["Status"] == "exited"; }));
    EXPECT_EQ(berth({"rm", "orphan"}).exit_code, 0);

    // The CLI SIGKILLed at random points of a run.
    std::mt19937 random(12345);
    for (int i = 0; i < 6; ++i) {
        BackgroundCommand cli({berth_binary(), "--root", berth.root(), "--config", "/dev/null",
                               "run", "--name", "victim" + std::to_string(i),
                               i % 2 ? "--network=none" : "--network=bridge", image_, "sleep",
                               "30"});
        std::this_thread::sleep_for(std::chrono::milliseconds(random() % 120));
        cli.signal(SIGKILL);
        cli.wait(5s);
    }
    auto ps = berth({"ps", "-a", "--format", "json"});
    auto list = nlohmann::json::parse(ps.out, nullptr, false);
    ASSERT_TRUE(list.is_array()) << ps.describe();
    for (const auto& c : list) {
        std::string state = c["State"];
        EXPECT_TRUE(state == "created" || state == "running" || state == "exited") << state;
        known_ids_.push_back(c["Id"]);
        if (state == "running") {
            EXPECT_EQ(::kill(c["Pid"].get<int>(), 0), 0) << c.dump();
        }
    }
    for (const auto& c : list)
        EXPECT_EQ(berth({"rm", "-f", c["Id"]}).exit_code, 0);
    EXPECT_EQ(berth({"ps", "-aq"}).out, "");
}

}  // namespace
