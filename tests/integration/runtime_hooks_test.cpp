// Lifecycle hooks: every phase runs, in order, with the state JSON on stdin and the
// configured args and env; poststart/poststop failures only warn.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/fixture.hpp"

namespace fs = std::filesystem;
using namespace berth::test;
using nlohmann::json;

namespace {

// A hook that appends "<phase> <status> <pid> <id> <ENV>" to log, reading the state on stdin.
json recording_hook(const std::string& log, const std::string& phase) {
    std::string script =
        "state=$(cat); "
        "status=$(echo \"$state\" | sed 's/.*\"status\":\"\\([a-z]*\\)\".*/\\1/'); "
        "id=$(echo \"$state\" | sed 's/.*\"id\":\"\\([^\"]*\\)\".*/\\1/'); "
        "pid=$(echo \"$state\" | sed 's/.*\"pid\":\\([0-9]*\\).*/\\1/'); "
        "echo \"" +
        phase + " $status $pid $id $HOOK_ENV\" >> " + log;
    return {{"path", "/bin/sh"},
            {"args", {"sh", "-c", script}},
            {"env", {"HOOK_ENV=" + phase + "-env", "PATH=/bin:/usr/bin"}}};
}

std::vector<std::string> file_lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    std::string line;
    while (std::getline(in, line))
        out.push_back(line);
    return out;
}

}  // namespace

TEST(Hooks, EveryPhaseRunsInOrderWithState) {
    Runtime runtime;
    TempDir dir;
    std::string log = dir.path() + "/hooks.log";
    Bundle bundle({"sleep", "300"});
    // createContainer and startContainer run inside the container: their log must be
    // reachable there, so they write into a bind-mounted directory.
    bundle.config()["mounts"].push_back({{"destination", dir.path()},
                                         {"type", "bind"},
                                         {"source", dir.path()},
                                         {"options", {"rbind"}}});
    auto& hooks = bundle.config()["hooks"];
    hooks["prestart"] = {recording_hook(log, "prestart")};
    hooks["createRuntime"] = {recording_hook(log, "createRuntime")};
    hooks["createContainer"] = {recording_hook(log, "createContainer")};
    hooks["startContainer"] = {recording_hook(log, "startContainer")};
    hooks["poststart"] = {recording_hook(log, "poststart")};
    hooks["poststop"] = {recording_hook(log, "poststop")};
    bundle.write();
    std::string id = unique_id("hooks");
    ContainerGuard guard(runtime, id);

    ASSERT_EQ(runtime({"create", "--bundle", bundle.path(), id}).exit_code, 0);
    int pid = runtime.state(id)["pid"];
    auto after_create = file_lines(log);
    ASSERT_EQ(after_create.size(), 3u)
        << "prestart, createRuntime and createContainer run during create";
    std::string tail = std::to_string(pid) + " " + id;
    EXPECT_EQ(after_create[0], "prestart creating " + tail + " prestart-env");
    EXPECT_EQ(after_create[1], "createRuntime creating " + tail + " createRuntime-env");
    EXPECT_EQ(after_create[2], "createContainer creating " + tail + " createContainer-env");

    ASSERT_EQ(runtime({"start", id}).exit_code, 0);
    ASSERT_TRUE(eventually([&] { return file_lines(log).size() == 5; }));
    auto after_start = file_lines(log);
    EXPECT_EQ(after_start[3], "startContainer created " + tail + " startContainer-env");
    EXPECT_EQ(after_start[4], "poststart running " + tail + " poststart-env");

    ASSERT_EQ(runtime({"kill", id, "KILL"}).exit_code, 0);
    ASSERT_TRUE(eventually([&] { return runtime.state(id)["status"] == "stopped"; }));
    ASSERT_EQ(runtime({"delete", id}).exit_code, 0);
    auto all = file_lines(log);
    ASSERT_EQ(all.size(), 6u);
    EXPECT_EQ(all[5].rfind("poststop stopped", 0), 0u) << all[5];
}

TEST(Hooks, PoststartAndPoststopFailuresOnlyWarn) {
    Runtime runtime;
    Bundle bundle({"true"});
    bundle.config()["hooks"]["poststart"] = {{{"path", "/bin/false"}}};
    bundle.config()["hooks"]["poststop"] = {{{"path", "/bin/false"}}};
    bundle.write();
    std::string id = unique_id("hookwarn");
    ContainerGuard guard(runtime, id);
    auto r = runtime({"run", "--bundle", bundle.path(), id});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_NE(r.err.find("warning: poststart hook 0 (/bin/false) exited with status 1"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("warning: poststop hook 0 (/bin/false) exited with status 1"),
              std::string::npos)
        << r.err;
    EXPECT_FALSE(fs::exists(runtime.state_root() + "/" + id));
}
