// Fault injection on berth-runtime: the runtime killed (SIGKILL) at moments of a long
// set-up, then `delete --force`. Nothing may be left: no process of the container, no cgroup,
// no mount, no state directory.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "support/fixture.hpp"

namespace fs = std::filesystem;
using namespace berth::test;
using nlohmann::json;

namespace {

// Thousands of tmpfs mounts on /tmp: a set-up that takes about a second.
void add_slow_setup(Bundle& bundle, int mounts) {
    json& list = bundle.config()["mounts"];
    for (int i = 0; i < mounts; ++i)
        list.push_back({{"destination", "/tmp"},
                        {"type", "tmpfs"},
                        {"source", "tmpfs"},
                        {"options", {"nosuid", "size=64k"}}});
    bundle.write();
}

void expect_nothing_left(const Runtime& runtime, const std::string& id, const Bundle& bundle,
                         const std::string& moment) {
    EXPECT_FALSE(fs::exists(runtime.state_root() + "/" + id))
        << moment << ": state directory left behind";
    auto cgroups = cgroup_dirs_named(id);
    EXPECT_TRUE(cgroups.empty()) << moment << ": cgroup left behind: " << cgroups[0];
    EXPECT_TRUE(mounts_under(bundle.rootfs()).empty()) << moment << ": mount left behind";
    // The init is a fork of the runtime: its command line names the container.
    auto alive = processes_mentioning(id);
    EXPECT_TRUE(alive.empty()) << moment << ": process " << alive[0]
                               << " of the container outlived `delete --force`";
}

}  // namespace

TEST(RuntimeFault, KilledDuringSetUpLeavesNothingThatDeleteForceCannotRemove) {
    Runtime runtime;
    Bundle bundle({"sleep", "300"});
    add_slow_setup(bundle, 4000);
    int in_set_up = 0;  // kills that landed before the container was recorded
    for (const char* verb : {"create", "run"}) {
        for (int delay_ms : {5, 150, 400}) {
            const std::string moment =
                std::string(verb) + " killed after " + std::to_string(delay_ms) + " ms";
            std::string id = unique_id("fault-" + std::string(verb));
            ContainerGuard guard(runtime, id);
            {
                BackgroundCommand launched(runtime.command({verb, "--bundle", bundle.path(), id}));
                std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
                if (!fs::exists(runtime.state_root() + "/" + id + "/state.json")) ++in_set_up;
                launched.signal(SIGKILL);
                launched.wait(std::chrono::seconds(10));
            }
            auto del = runtime({"delete", "--force", id});
            EXPECT_EQ(del.exit_code, 0) << moment << ": " << del.describe();
            expect_nothing_left(runtime, id, bundle, moment);
        }
    }
    // The set-up (4000 mounts) is slow enough for most kills to land in it.
    EXPECT_GE(in_set_up, 4);
}
