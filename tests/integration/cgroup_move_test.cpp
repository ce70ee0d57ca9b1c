// The cgroup v2 writers of cpu, cpuset, pids and io against the real kernel on this hybrid
// host, where those controllers normally live in v1 hierarchies.
//
// A v1 hierarchy whose root has no child cgroup can be unmounted: the kernel then destroys it
// and its controller appears in the unified root's cgroup.controllers. This test does that for
// such hierarchies (never memory, which holds other cgroups here), runs, and mounts them again.
// That changes host-wide state for a few seconds, so it is opt-in and strictly guarded:
//   - runs only with BERTH_TEST_MOVE_CONTROLLERS=1, as root, on a hybrid host;
//   - serialized by flock on /run/berth-test-cgroup.lock;
//   - moves a hierarchy only when it is mounted once here, holds one controller, has no
//     child cgroups (/proc/cgroups num_cgroups == 1 and no subdirectory), and puts it back at
//     once if the controller does not show up in cgroup2;
//   - writes /run/berth-test-moved-controllers before unmounting, so a run killed with
//     SIGKILL is repaired by the next run (or by hand: mount -t cgroup -o cpu cgroup
//     /sys/fs/cgroup/cpu, and likewise for each line);
//   - restores in TearDown (reached after a failing assertion too), at exit, and from fatal
//     signal handlers (SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGINT, SIGTERM), which only
//     use prepared buffers and system calls: "-ctrl" to the unified root's
//     cgroup.subtree_control, then mount(2) again, retrying EBUSY for up to 30 s while the
//     cgroup2 css of the controller dies.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/file.hpp"
#include "common/strings.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/cgroup/files.hpp"
#include "runtime/cgroup/layout.hpp"
#include "runtime/cgroup/manager.hpp"
#include "runtime/cgroup/values.hpp"

namespace fs = std::filesystem;
using namespace berth::runtime::cgroup;

namespace {

constexpr const char* kMarker = "/run/berth-test-moved-controllers";
constexpr const char* kLock = "/run/berth-test-cgroup.lock";

// What was unmounted, in fixed buffers that a signal handler can use.
struct Moved {
    char v2_name[16];
    char mountpoint[256];
    char data[128];
    unsigned long flags;
};
constexpr size_t kMaxMoved = 8;
std::array<Moved, kMaxMoved> g_moved{};
size_t g_moved_count = 0;
char g_subtree_control[300];

void sleep_ms(long ms) {
    timespec ts{ms / 1000, (ms % 1000) * 1000000};
    ::nanosleep(&ts, nullptr);
}

// Async-signal-safe: system calls on prepared buffers only. Returns true when every
// hierarchy is mounted again.
bool restore_moved() {
    bool all = true;
    for (size_t i = 0; i < g_moved_count; ++i) {
        Moved& m = g_moved[i];
        if (m.mountpoint[0] == '\0') continue;
        int fd = ::open(g_subtree_control, O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
            char cmd[20] = "-";
            std::strncat(cmd, m.v2_name, sizeof cmd - 2);
            ssize_t ignored = ::write(fd, cmd, std::strlen(cmd));
            (void)ignored;
            ::close(fd);
        }
        bool mounted = false;
        for (int attempt = 0; attempt < 300 && !mounted; ++attempt) {
            if (::mount("cgroup", m.mountpoint, "cgroup", m.flags, m.data) == 0) {
                mounted = true;
            } else if (errno == EBUSY) {
                sleep_ms(100);
            } else {
                break;
            }
        }
        if (mounted)
            m.mountpoint[0] = '\0';
        else
            all = false;
    }
    if (all) ::unlink(kMarker);
    return all;
}

void fatal_signal(int sig) {
    restore_moved();
    ::signal(sig, SIG_DFL);
    ::raise(sig);
}

unsigned long mount_flags(const std::string& options) {
    unsigned long flags = 0;
    for (const auto& o : berth::split(options, ',')) {
        if (o == "ro") flags |= MS_RDONLY;
        if (o == "nosuid") flags |= MS_NOSUID;
        if (o == "nodev") flags |= MS_NODEV;
        if (o == "noexec") flags |= MS_NOEXEC;
        if (o == "relatime") flags |= MS_RELATIME;
        if (o == "noatime") flags |= MS_NOATIME;
        if (o == "nodiratime") flags |= MS_NODIRATIME;
        if (o == "strictatime") flags |= MS_STRICTATIME;
    }
    return flags;
}

// Per-mount options (field 6) of the mount at mountpoint.
std::string mount_options_of(const std::string& mountpoint) {
    std::istringstream in(berth::read_file("/proc/self/mountinfo"));
    std::string line;
    while (std::getline(in, line)) {
        auto f = berth::split(line, ' ');
        if (f.size() > 5 && f[4] == mountpoint) return f[5];
    }
    return {};
}

bool is_mounted(const std::string& mountpoint) {
    return !mount_options_of(mountpoint).empty();
}

uint64_t num_cgroups(const std::string& controller) {
    std::istringstream in(berth::read_file("/proc/cgroups"));
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string name;
        uint64_t hierarchy = 0, count = 0;
        if (fields >> name >> hierarchy >> count && name == controller) return count;
    }
    return 0;
}

bool in_unified_root(const std::string& unified, const std::string& v2_name) {
    for (const auto& c : berth::split(
             std::string(berth::trim(berth::read_file(unified + "/cgroup.controllers"))), ' '))
        if (c == v2_name) return true;
    return false;
}

void save_marker() {
    std::ofstream out(kMarker);
    for (size_t i = 0; i < g_moved_count; ++i)
        if (g_moved[i].mountpoint[0] != '\0')
            out << g_moved[i].v2_name << '\t' << g_moved[i].mountpoint << '\t' << g_moved[i].flags
                << '\t' << g_moved[i].data << '\n';
}

// A run killed with SIGKILL left its marker: put those hierarchies back first.
bool repair_stale_marker() {
    std::ifstream in(kMarker);
    if (!in) return true;
    g_moved_count = 0;
    std::string line;
    while (std::getline(in, line) && g_moved_count < kMaxMoved) {
        auto f = berth::split(line, '\t');
        if (f.size() != 4 || is_mounted(f[1])) continue;
        Moved& m = g_moved[g_moved_count++];
        std::snprintf(m.v2_name, sizeof m.v2_name, "%s", f[0].c_str());
        std::snprintf(m.mountpoint, sizeof m.mountpoint, "%s", f[1].c_str());
        m.flags = std::strtoul(f[2].c_str(), nullptr, 10);
        std::snprintf(m.data, sizeof m.data, "%s", f[3].c_str());
    }
    bool ok = restore_moved();
    g_moved_count = 0;
    return ok;
}

class MovedControllersTest : public ::testing::Test {
  protected:
    void SetUp() override {
        const char* opt_in = std::getenv("BERTH_TEST_MOVE_CONTROLLERS");
        if (opt_in == nullptr || std::string(opt_in) != "1")
            GTEST_SKIP()
                << "changes host-wide cgroup mounts; set BERTH_TEST_MOVE_CONTROLLERS=1 to run";
        if (::geteuid() != 0) GTEST_SKIP() << "needs root";
        Layout before = Layout::detect();
        auto u = unified_index(before);
        if (before.mode != Mode::hybrid || !u) GTEST_SKIP() << "needs a hybrid host";
        unified = before.hierarchies[*u].mountpoint;
        name = "berth-test-" + std::to_string(::getpid()) + "-moved";  // TearDown acts from here on
        std::snprintf(g_subtree_control, sizeof g_subtree_control, "%s/cgroup.subtree_control",
                      unified.c_str());

        lock_fd = ::open(kLock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        ASSERT_GE(lock_fd, 0);
        ASSERT_EQ(::flock(lock_fd, LOCK_EX), 0);
        ASSERT_TRUE(repair_stale_marker())
            << "could not restore the hierarchies listed in " << kMarker;

        for (int sig : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGINT, SIGTERM})
            ::signal(sig, fatal_signal);
        static bool registered = false;
        if (!registered) {
            registered = true;
            std::atexit([] { restore_moved(); });
        }

        g_moved_count = 0;
        for (const auto& [v1, v2] : std::vector<std::pair<std::string, std::string>>{
                 {"cpu", "cpu"}, {"cpuset", "cpuset"}, {"pids", "pids"}, {"blkio", "io"}}) {
            move(before, v1, v2);
        }
        if (moved.empty()) GTEST_SKIP() << "no v1 hierarchy could be moved safely";
    }

    void move(const Layout& before, const std::string& v1, const std::string& v2) {
        if (given_up) return;
        const Hierarchy* h = nullptr;
        int mounts = 0;
        for (const auto& x : before.hierarchies)
            if (!x.unified && x.controllers == v1) h = &x;
        if (h == nullptr) return;
        for (const auto& m : parse_mountinfo(berth::read_file("/proc/self/mountinfo"))) {
            auto options = berth::split(m.super_options, ',');
            if (m.fstype == "cgroup" &&
                std::find(options.begin(), options.end(), v1) != options.end())
                ++mounts;
        }
        // Guards: one mount here, no child cgroup anywhere in the hierarchy.
        if (mounts != 1 || num_cgroups(v1) != 1 || !list_directory(h->mountpoint, true).empty())
            return;
        if (in_unified_root(unified, v2)) return;
        Moved& m = g_moved[g_moved_count];
        std::snprintf(m.v2_name, sizeof m.v2_name, "%s", v2.c_str());
        std::snprintf(m.mountpoint, sizeof m.mountpoint, "%s", h->mountpoint.c_str());
        std::snprintf(m.data, sizeof m.data, "%s", v1.c_str());
        m.flags = mount_flags(mount_options_of(h->mountpoint));
        ++g_moved_count;
        save_marker();
        if (::umount2(h->mountpoint.c_str(), 0) < 0) {
            m.mountpoint[0] = '\0';
            save_marker();
            return;
        }
        for (int i = 0; i < 100 && !in_unified_root(unified, v2); ++i)
            sleep_ms(20);
        if (!in_unified_root(unified, v2)) {
            // Still bound elsewhere (another mount namespace): put it back now.
            ADD_FAILURE() << v1
                          << " did not appear in cgroup2 after unmounting; remounting everything";
            restore_moved();
            moved.clear();
            given_up = true;
            return;
        }
        moved.push_back(v2);
    }

    void TearDown() override {
        for (pid_t pid : children)
            ::kill(pid, SIGKILL);
        for (pid_t pid : children)
            ::waitpid(pid, nullptr, 0);
        if (manager) {
            try {
                manager->destroy();
            } catch (const std::exception& e) {
                ADD_FAILURE() << "destroy: " << e.what();
            }
        }
        for (const auto& h : Layout::detect().hierarchies) {
            std::string d = h.mountpoint + "/" + name;
            if (name.rfind("berth-test-", 0) == 0 && fs::exists(d)) {
                if (auto procs = cg_read_if_exists(d, "cgroup.procs"))
                    for (pid_t pid : parse_pids(*procs))
                        ::kill(pid, SIGKILL);
                for (int i = 0; i < 100 && ::rmdir(d.c_str()) < 0 && errno != ENOENT; ++i)
                    sleep_ms(20);
                EXPECT_FALSE(fs::exists(d)) << d;
            }
        }
        if (g_moved_count > 0) {
            // Directories made in the bare tmpfs meanwhile would be hidden by the mount.
            for (size_t i = 0; i < g_moved_count; ++i) {
                if (g_moved[i].mountpoint[0] == '\0') continue;
                for (const auto& entry : list_directory(g_moved[i].mountpoint, false)) {
                    ADD_FAILURE() << "something was made in " << g_moved[i].mountpoint
                                  << " while it was unmounted: " << entry;
                    ::rmdir((std::string(g_moved[i].mountpoint) + "/" + entry).c_str());
                }
            }
            std::vector<std::string> mountpoints;
            for (size_t i = 0; i < g_moved_count; ++i)
                if (g_moved[i].mountpoint[0] != '\0')
                    mountpoints.emplace_back(g_moved[i].mountpoint);
            EXPECT_TRUE(restore_moved())
                << "could not mount every moved hierarchy again; see " << kMarker;
            for (const auto& mp : mountpoints)
                EXPECT_TRUE(is_mounted(mp)) << mp << " is not mounted again";
            for (const auto& v2 : moved)
                EXPECT_FALSE(in_unified_root(unified, v2)) << v2 << " is still in cgroup2";
            g_moved_count = 0;
        }
        for (int sig : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGINT, SIGTERM})
            ::signal(sig, SIG_DFL);
        if (lock_fd >= 0) ::close(lock_fd);
    }

    bool has(const std::string& v2) const {
        return std::find(moved.begin(), moved.end(), v2) != moved.end();
    }
    static std::string read_trimmed(const std::string& path) {
        return std::string(berth::trim(berth::read_file(path)));
    }

    std::string unified, name;
    std::vector<std::string> moved;
    std::unique_ptr<Manager> manager;
    std::vector<pid_t> children;
    int lock_fd = -1;
    bool given_up = false;
};

}  // namespace

TEST_F(MovedControllersTest, V2WritersOnTheRealKernel) {
    Layout layout = Layout::detect();
    Owners owners = locate_controllers(layout);
    auto u = unified_index(layout);
    ASSERT_TRUE(u);
    for (const auto& [c, v2] :
         std::vector<std::pair<Controller, std::string>>{{Controller::cpu, "cpu"},
                                                         {Controller::cpuset, "cpuset"},
                                                         {Controller::pids, "pids"},
                                                         {Controller::blkio, "io"}})
        if (has(v2)) {
            EXPECT_EQ(owners[static_cast<size_t>(c)], u) << v2 << " should live in cgroup2 now";
        }

    Options o;
    o.cgroups_path = "/" + name;
    o.container_id = name;
    manager = Manager::open(o, layout);
    manager->create();
    std::string dir;
    for (const auto& p : manager->placements())
        if (p.hierarchy.unified) dir = p.hierarchy.mountpoint + p.path;
    ASSERT_FALSE(dir.empty());
    for (const auto& v2 : moved)
        EXPECT_NE(berth::read_file(unified + "/cgroup.subtree_control").find(v2), std::string::npos)
            << v2;

    nlohmann::json r = nlohmann::json::object();
    if (has("cpu"))
        r["cpu"] = {{"shares", 2048}, {"quota", 50000}, {"period", 100000}, {"burst", 10000}};
    if (has("cpuset")) {
        r["cpu"]["cpus"] = "0";
        r["cpu"]["mems"] = "0";
    }
    if (has("pids")) r["pids"] = {{"limit", 10}};
    if (has("io"))
        r["blockIO"] = {
            {"weight", 500},
            {"throttleReadBpsDevice", {{{"major", 254}, {"minor", 0}, {"rate", 1048576}}}}};
    manager->apply(berth::oci::parse_resources(r));
    if (has("cpu")) {
        EXPECT_EQ(read_trimmed(dir + "/cpu.weight"), std::to_string(cpu_weight_from_shares(2048)));
        EXPECT_EQ(read_trimmed(dir + "/cpu.max"), "50000 100000");
        if (cg_exists(dir, "cpu.max.burst")) {
            EXPECT_EQ(read_trimmed(dir + "/cpu.max.burst"), "10000");
        }
        manager->update(berth::oci::parse_resources(nlohmann::json::parse(
            R"({"cpu": {"period": 200000}, "unified": {"cpu.weight": "77"}})")));
        EXPECT_EQ(read_trimmed(dir + "/cpu.max"), "50000 200000");
        EXPECT_EQ(read_trimmed(dir + "/cpu.weight"), "77");
    }
    if (has("cpuset")) {
        EXPECT_EQ(read_trimmed(dir + "/cpuset.cpus"), "0");
        EXPECT_EQ(read_trimmed(dir + "/cpuset.mems"), "0");
    }
    if (has("pids")) {
        EXPECT_EQ(read_trimmed(dir + "/pids.max"), "10");
    }
    if (has("io")) {
        std::string weight_file = cg_exists(dir, "io.bfq.weight") ? "io.bfq.weight" : "io.weight";
        std::string expected =
            weight_file == "io.bfq.weight" ? "500" : std::to_string(io_weight_from_blkio(500));
        EXPECT_NE(berth::read_file(dir + "/" + weight_file).find(expected), std::string::npos);
        EXPECT_NE(berth::read_file(dir + "/io.max").find("254:0 rbps=1048576"), std::string::npos);
    }

    if (has("pids")) {
        // pids.max enforced by the v2 controller.
        manager->update(
            berth::oci::parse_resources(nlohmann::json::parse(R"({"pids": {"limit": 1}})")));
        int fds[2];
        ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
        pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            char c;
            if (::read(fds[0], &c, 1) != 1) ::_exit(120);
            pid_t g = ::fork();
            if (g == 0) ::_exit(0);
            ::_exit(g < 0 && errno == EAGAIN ? 0 : 1);
        }
        children.push_back(child);
        ::close(fds[0]);
        manager->add_process(child);
        ASSERT_EQ(::write(fds[1], "g", 1), 1);
        ::close(fds[1]);
        int status = 0;
        ASSERT_EQ(::waitpid(child, &status, 0), child);
        children.clear();
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "fork was not refused";
        auto stats = manager->stats();
        EXPECT_EQ(stats["pids"]["limit"], 1);
    }
    manager->destroy();
    EXPECT_FALSE(fs::exists(dir));
}
