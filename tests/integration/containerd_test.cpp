// containerd drives berth-runtime through its runc shim (`ctr run --runc-binary`): run,
// exec with and without a terminal, ps, pause/resume, kill, delete, and errors read back from
// the runtime's --log JSON file. Each test runs its own containerd (support/containerd.hpp).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/containerd.hpp"

namespace fs = std::filesystem;
using namespace berth::test;

namespace {

class ContainerdTest : public ::testing::Test {
  protected:
    void SetUp() override { ASSERT_NO_THROW(containerd_ = std::make_unique<Containerd>()); }

    // What berth-runtime says about id under the root the shim gave it; null when it fails.
    nlohmann::json runtime_state(const std::string& id) const {
        auto r = run_command(containerd_->runtime_command({"state", id}));
        if (r.exit_code != 0) return nullptr;
        return nlohmann::json::parse(r.out, nullptr, false);
    }

    void expect_nothing_left(const std::string& id) const {
        EXPECT_FALSE(fs::exists(containerd_->runtime_state_root() + "/" + id))
            << "runtime state left behind";
        EXPECT_TRUE(cgroup_dirs_named(id).empty())
            << "cgroup left behind: " << cgroup_dirs_named(id)[0];
        EXPECT_TRUE(mounts_under(containerd_->dir()).empty())
            << "mount left behind: " << mounts_under(containerd_->dir())[0];
        EXPECT_EQ(containerd_->ctr({"container", "ls", "--quiet"}).out, "");
    }

    std::unique_ptr<Containerd> containerd_;
};

// Shell that reports SIGTERM and exits 7; `wait` returns at once when the trap fires.
const std::vector<std::string> kTrapTerm{
    "sh", "-c", "trap 'echo got TERM; exit 7' TERM; echo started; sleep 1000 & wait"};

}  // namespace

TEST_F(ContainerdTest, RunsExecsPausesAndKillsAContainer) {
    std::string id = unique_id("ctd-life");
    // Foreground `ctr run`: it reports the container's output and exit status when it ends.
    // (If the test fails first, `run` kills ctr on leaving and the fixture the container.)
    CommandOptions output;
    output.output_path = containerd_->dir() + "/run.out";
    BackgroundCommand run(containerd_->run_command_line({}, id, kTrapTerm), output);
    ASSERT_TRUE(eventually([&] { return containerd_->tasks()[id].status == "RUNNING"; },
                           std::chrono::seconds(30)))
        << containerd_->ctr({"task", "ls"}).describe();

    // It is berth-runtime's container, in the root the shim passed.
    auto state = runtime_state(id);
    ASSERT_FALSE(state.is_null());
    EXPECT_EQ(state["status"], "running");
    EXPECT_EQ(state["pid"], containerd_->tasks()[id].pid);
    auto list = run_command(containerd_->runtime_command({"list", "--quiet"}));
    EXPECT_EQ(list.out, id + "\n") << list.describe();

    auto exec = run_command(containerd_->exec_command_line(
        {}, id, "plain", {"sh", "-c", "echo out; echo err >&2; exit 5"}));
    EXPECT_EQ(exec.exit_code, 5) << exec.describe();
    EXPECT_EQ(exec.out, "out\n");
    EXPECT_NE(exec.err.find("err"), std::string::npos) << exec.err;

    auto tty = run_with_terminal(
        containerd_->exec_command_line({"--tty"}, id, "tty", {"sh", "-c", "tty; exit 6"}));
    EXPECT_EQ(tty.exit_code, 6) << tty.describe();
    EXPECT_NE(tty.out.find("/dev/pts/"), std::string::npos) << tty.describe();

    // ps --format json: the shell and its sleep.
    auto ps = containerd_->ctr({"task", "ps", id});
    EXPECT_EQ(ps.exit_code, 0) << ps.describe();
    EXPECT_NE(ps.out.find(std::to_string(state["pid"].get<int>())), std::string::npos) << ps.out;
    EXPECT_EQ(std::count(ps.out.begin(), ps.out.end(), '\n'), 3) << "header, sh, sleep: " << ps.out;

    auto pause = containerd_->ctr({"task", "pause", id});
    EXPECT_EQ(pause.exit_code, 0) << pause.describe();
    EXPECT_EQ(containerd_->tasks()[id].status, "PAUSED");
    EXPECT_EQ(runtime_state(id)["status"], "paused");
    auto resume = containerd_->ctr({"task", "resume", id});
    EXPECT_EQ(resume.exit_code, 0) << resume.describe();
    EXPECT_EQ(containerd_->tasks()[id].status, "RUNNING");
    EXPECT_EQ(runtime_state(id)["status"], "running");

    auto kill = containerd_->ctr({"task", "kill", "--signal", "SIGTERM", id});
    EXPECT_EQ(kill.exit_code, 0) << kill.describe();
    EXPECT_EQ(run.wait(std::chrono::seconds(30)), 7);
    std::ifstream out(output.output_path);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(out), {}), "started\ngot TERM\n");
    // `ctr run` deletes the task it ran (the runtime's `delete`); the container stays.
    EXPECT_EQ(containerd_->tasks().count(id), 0U);
    EXPECT_TRUE(runtime_state(id).is_null()) << "the runtime still knows the container";
    auto rm = containerd_->ctr({"container", "rm", id});
    EXPECT_EQ(rm.exit_code, 0) << rm.describe();
    expect_nothing_left(id);
}

TEST_F(ContainerdTest, RunRmReportsOutputAndExitCode) {
    std::string id = unique_id("ctd-rm");
    auto r =
        run_command(containerd_->run_command_line({"--rm"}, id, {"sh", "-c", "echo hi; exit 3"}));
    EXPECT_EQ(r.exit_code, 3) << r.describe();
    EXPECT_EQ(r.out, "hi\n");
    expect_nothing_left(id);

    // With a terminal: the pty comes back over --console-socket.
    std::string tty_id = unique_id("ctd-rm-tty");
    auto tty = run_with_terminal(
        containerd_->run_command_line({"--rm", "--tty"}, tty_id, {"sh", "-c", "tty; exit 4"}));
    EXPECT_EQ(tty.exit_code, 4) << tty.describe();
    EXPECT_NE(tty.out.find("/dev/pts/0"), std::string::npos) << tty.describe();
    expect_nothing_left(tty_id);
}

// The shim reads the runtime's --log JSON file when create fails and reports its last error.
TEST_F(ContainerdTest, ReportsTheRuntimesErrorFromItsLog) {
    std::string id = unique_id("ctd-missing");
    auto r = run_command(containerd_->run_command_line({"--rm"}, id, {"no-such-program"}));
    EXPECT_NE(r.exit_code, 0) << r.describe();
    EXPECT_NE(r.err.find("OCI runtime create failed: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("\"no-such-program\": executable file not found in $PATH"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(r.err.find("unable to retrieve OCI runtime error"), std::string::npos) << r.err;
    expect_nothing_left(id);
}

// A container in the host's pid namespace: the shim signals every process of it
// (`kill --all`) when the init exits, so its children do not outlive it.
TEST_F(ContainerdTest, KillAllReachesEveryProcessWithoutAPidNamespace) {
    std::string id = unique_id("ctd-hostpid");
    auto run = run_command(containerd_->run_command_line(
        {"--detach", "--with-ns", "pid:/proc/" + std::to_string(::getpid()) + "/ns/pid"}, id,
        {"sh", "-c", "sleep 1000 & exec sleep 1001"}));
    ASSERT_EQ(run.exit_code, 0) << run.describe();
    auto ps = run_command(containerd_->runtime_command({"ps", "--format", "json", id}));
    ASSERT_EQ(ps.exit_code, 0) << ps.describe();
    auto pids = nlohmann::json::parse(ps.out, nullptr, false);
    ASSERT_TRUE(pids.is_array() && pids.size() == 2) << ps.out;

    auto kill = containerd_->ctr({"task", "kill", "--all", "--signal", "SIGKILL", id});
    EXPECT_EQ(kill.exit_code, 0) << kill.describe();
    EXPECT_TRUE(eventually([&] { return containerd_->tasks()[id].status == "STOPPED"; }));
    for (int pid : pids)
        EXPECT_TRUE(eventually([pid] { return ::kill(pid, 0) != 0; })) << pid << " survived";
    auto del = containerd_->ctr({"task", "delete", id});
    EXPECT_EQ(del.exit_code, 0) << del.describe();
    EXPECT_EQ(containerd_->ctr({"container", "rm", id}).exit_code, 0);
    expect_nothing_left(id);
}
