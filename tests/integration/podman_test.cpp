// podman drives berth-runtime through conmon (`podman --runtime`): run, exec with and without
// a terminal, top, pause/unpause, update, kill, wait, rm, foreground `run --rm`, and the
// runtime's errors mapped to exit codes. Each test has its own storage (support/podman.hpp).
#include <filesystem>
#include <fstream>

#include "support/podman.hpp"

namespace fs = std::filesystem;
using namespace berth::test;

namespace {

class PodmanTest : public ::testing::Test {
  protected:
    void SetUp() override { ASSERT_NO_THROW(podman_ = std::make_unique<Podman>()); }

    // What berth-runtime says about id under the root podman's runtime uses; null when it fails.
    nlohmann::json runtime_state(const std::string& id) const {
        auto r = run_command(podman_->runtime_command({"state", id}));
        if (r.exit_code != 0) return nullptr;
        return nlohmann::json::parse(r.out, nullptr, false);
    }

    std::string inspect(const std::string& id, const std::string& format) const {
        auto r = (*podman_)({"inspect", "--format", format, id});
        return r.exit_code == 0 ? r.out : "inspect failed: " + r.describe();
    }

    // No state in the runtime's root, no container cgroup under our parent, no mount, no
    // container in podman; id (when known) named by none of them.
    void expect_nothing_left(const std::string& id = "") const {
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(podman_->runtime_state_root(), ec))
            EXPECT_EQ(entry.path().filename().string()[0], '.')
                << "runtime state left behind: " << entry.path();
        for (const auto& dir : cgroup_dirs_named("libpod-"))
            EXPECT_EQ(dir.find(podman_->cgroup_parent()), std::string::npos)
                << "cgroup left behind: " << dir;
        if (!id.empty()) {
            EXPECT_TRUE(cgroup_dirs_named(id).empty())
                << "cgroup left behind: " << cgroup_dirs_named(id)[0];
        }
        EXPECT_TRUE(mounts_under(podman_->dir()).empty())
            << "mount left behind: " << mounts_under(podman_->dir())[0];
        EXPECT_EQ((*podman_)({"ps", "--all", "--quiet"}).out, "");
    }

    std::vector<std::string> run_args(const std::vector<std::string>& flags,
                                      const std::vector<std::string>& command) const {
        std::vector<std::string> args{"run"};
        args.insert(args.end(), flags.begin(), flags.end());
        auto common = podman_->run_flags();
        args.insert(args.end(), common.begin(), common.end());
        args.push_back("localhost/busybox:latest");
        args.insert(args.end(), command.begin(), command.end());
        return args;
    }

    std::unique_ptr<Podman> podman_;
};

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
        s.pop_back();
    return s;
}

// The memory limit of the container's cgroup (v1 memory.limit_in_bytes or v2 memory.max).
std::string memory_limit(const std::string& id) {
    for (const auto& dir : cgroup_dirs_named("libpod-" + id)) {
        for (const char* file : {"/memory.limit_in_bytes", "/memory.max"}) {
            std::ifstream in(dir + file);
            std::string value;
            if (in >> value) return value;
        }
    }
    return "no memory cgroup";
}

}  // namespace

TEST_F(PodmanTest, RunsExecsPausesUpdatesAndKillsAContainer) {
    auto run = (*podman_)(run_args(
        {"--detach"},
        {"sh", "-c", "trap 'echo got TERM; exit 7' TERM; echo started; sleep 1000 & wait"}));
    ASSERT_EQ(run.exit_code, 0) << run.describe();
    std::string id = trim(run.out);

    // It is berth-runtime's container, in the root its wrapper passes.
    auto state = runtime_state(id);
    ASSERT_FALSE(state.is_null());
    EXPECT_EQ(state["status"], "running");
    EXPECT_EQ(std::to_string(state["pid"].get<int>()), trim(inspect(id, "{{.State.Pid}}")));

    auto exec = (*podman_)({"exec", id, "sh", "-c", "echo out; echo err >&2; exit 5"});
    EXPECT_EQ(exec.exit_code, 5) << exec.describe();
    EXPECT_EQ(exec.out, "out\n");
    EXPECT_EQ(exec.err, "err\n");

    auto tty = podman_->with_terminal({"exec", "--tty", id, "sh", "-c", "tty; exit 6"});
    EXPECT_EQ(tty.exit_code, 6) << tty.describe();
    EXPECT_NE(tty.out.find("/dev/pts/"), std::string::npos) << tty.describe();

    auto top = (*podman_)({"top", id});
    EXPECT_EQ(top.exit_code, 0) << top.describe();
    EXPECT_NE(top.out.find("sleep 1000"), std::string::npos) << top.out;

    auto pause = (*podman_)({"pause", id});
    EXPECT_EQ(pause.exit_code, 0) << pause.describe();
    EXPECT_EQ(trim(inspect(id, "{{.State.Status}}")), "paused");
    EXPECT_EQ(runtime_state(id)["status"], "paused");
    auto unpause = (*podman_)({"unpause", id});
    EXPECT_EQ(unpause.exit_code, 0) << unpause.describe();
    EXPECT_EQ(trim(inspect(id, "{{.State.Status}}")), "running");
    EXPECT_EQ(runtime_state(id)["status"], "running");

    // podman writes the resources to a file: `update --resources=FILE`.
    auto update = (*podman_)({"update", "--memory", "64m", id});
    EXPECT_EQ(update.exit_code, 0) << update.describe();
    EXPECT_EQ(memory_limit(id), "67108864");

    auto kill = (*podman_)({"kill", "--signal", "TERM", id});
    EXPECT_EQ(kill.exit_code, 0) << kill.describe();
    auto wait = (*podman_)({"wait", id});
    EXPECT_EQ(wait.exit_code, 0) << wait.describe();
    EXPECT_EQ(trim(wait.out), "7");
    EXPECT_EQ((*podman_)({"logs", id}).out, "started\ngot TERM\n");

    auto rm = (*podman_)({"rm", id});
    EXPECT_EQ(rm.exit_code, 0) << rm.describe();
    EXPECT_TRUE(runtime_state(id).is_null()) << "the runtime still knows the container";
    expect_nothing_left(id);
}

TEST_F(PodmanTest, StopFallsBackToKill) {
    // sleep as pid 1 ignores SIGTERM: podman stop sends SIGKILL after the timeout.
    auto run = (*podman_)(run_args({"--detach"}, {"sleep", "1000"}));
    ASSERT_EQ(run.exit_code, 0) << run.describe();
    std::string id = trim(run.out);
    auto stop = (*podman_)({"stop", "--time", "1", id});
    EXPECT_EQ(stop.exit_code, 0) << stop.describe();
    EXPECT_EQ(trim(inspect(id, "{{.State.ExitCode}}")), "137");
    EXPECT_EQ((*podman_)({"rm", id}).exit_code, 0);
    expect_nothing_left(id);
}

TEST_F(PodmanTest, RunRmEchoes) {
    auto r = (*podman_)(run_args({"--rm"}, {"echo", "hi"}));
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out, "hi\n");
    EXPECT_EQ(r.err, "");

    auto code = (*podman_)(run_args({"--rm"}, {"sh", "-c", "exit 3"}));
    EXPECT_EQ(code.exit_code, 3) << code.describe();

    // With a terminal: the pty comes back over --console-socket.
    auto tty = podman_->with_terminal(run_args({"--rm", "--tty"}, {"sh", "-c", "tty; exit 4"}));
    EXPECT_EQ(tty.exit_code, 4) << tty.describe();
    EXPECT_NE(tty.out.find("/dev/pts/0"), std::string::npos) << tty.describe();
    expect_nothing_left();
}

// --preserve-fds: podman hands fd 3 on to conmon, conmon to the runtime, the runtime to the
// container. `podman info` reads the runtime's --version.
TEST_F(PodmanTest, PassesPreservedFdsAndReadsTheVersion) {
    auto podman =
        podman_->command(run_args({"--rm", "--preserve-fds", "1"}, {"sh", "-c", "cat <&3"}));
    std::vector<std::string> argv{"sh", "-c",
                                  "echo through fd 3 > fd3 && exec 3<fd3 && exec \"$@\"", "sh"};
    argv.insert(argv.end(), podman.begin(), podman.end());
    CommandOptions options;
    options.cwd = podman_->dir() + "/tmp";
    options.env = podman_->environment();
    auto r = run_command(argv, options);
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out, "through fd 3\n");

    auto info = (*podman_)({"info", "--format", "{{.Host.OCIRuntime.Version}}"});
    EXPECT_EQ(info.exit_code, 0) << info.describe();
    auto version = run_command(podman_->runtime_command({"--version"}));
    EXPECT_EQ(trim(info.out), trim(version.out));
    expect_nothing_left();
}

// podman maps the runtime's error text to docker's exit codes, and cleans up with
// `delete --force`, which must not fail for a container the failed create never made.
TEST_F(PodmanTest, ReportsRuntimeErrorsAsExitCodes) {
    auto missing = (*podman_)(run_args({"--rm"}, {"no-such-program"}));
    EXPECT_EQ(missing.exit_code, 127) << missing.describe();
    EXPECT_NE(missing.err.find("\"no-such-program\": executable file not found in $PATH"),
              std::string::npos)
        << missing.err;
    EXPECT_EQ(missing.err.find("after creation failed"), std::string::npos) << missing.err;

    auto denied = (*podman_)(run_args({"--rm"}, {"/etc/passwd"}));
    EXPECT_EQ(denied.exit_code, 126) << denied.describe();
    EXPECT_EQ(denied.err.find("after creation failed"), std::string::npos) << denied.err;
    expect_nothing_left();
}
