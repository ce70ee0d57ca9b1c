// Rootless: berth-runtime run by an unprivileged user, made for each test with ranges of
// subordinate ids of its own, in a user namespace and without delegated cgroups (there is no
// systemd here to delegate any). The user, its ranges, its processes and its files are removed
// in TearDown, also when an assertion fails.
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "support/fixture.hpp"
#include "support/subordinate_ids.hpp"

namespace fs = std::filesystem;
using namespace berth::test;
using nlohmann::json;

namespace {

constexpr uint32_t kRange = 65536;

// Processes whose real uid is in [first, first + count), zombies included.
std::vector<pid_t> processes_of(uid_t first, uint64_t count) {
    std::vector<pid_t> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
        std::ifstream status(entry.path() / "status");
        std::string line;
        while (std::getline(status, line)) {
            if (line.rfind("Uid:", 0) != 0) continue;
            std::istringstream fields(line.substr(4));
            uint64_t uid = 0;
            if (fields >> uid && uid >= first && uid < first + count)
                out.push_back(static_cast<pid_t>(std::stol(name)));
            break;
        }
    }
    return out;
}

// stderr lines that are not warnings.
std::vector<std::string> error_lines(const std::string& err) {
    std::vector<std::string> out;
    for (auto& line : lines_of(err))
        if (line.find(": warning: ") == std::string::npos) out.push_back(line);
    return out;
}

// "  0   1001   1" -> "0 1001 1"
std::string squeeze(const std::string& text) {
    std::istringstream in(text);
    std::string word, out;
    while (in >> word)
        out += (out.empty() ? "" : " ") + word;
    return out;
}

json mapping(uint64_t container, uint64_t host, uint64_t size) {
    return {{"containerID", container}, {"hostID", host}, {"size", size}};
}

class Rootless : public ::testing::Test {
  protected:
    void SetUp() override {
        // First what aborts when the environment lacks it, before anything needs removing.
        const std::string rootfs = busybox_rootfs_template();
        runtime_ = runtime_binary();
        auto tools = run_command({"sh", "-c",
                                  "command -v useradd && command -v usermod && command -v userdel "
                                  "&& command -v newuidmap && command -v newgidmap"});
        if (tools.exit_code != 0)
            GTEST_SKIP() << "needs useradd, usermod, userdel, newuidmap and newgidmap";
        static int counter = 0;
        const int n = counter++;
        user_ = "berthtest" + std::to_string(::getpid()) + "n" + std::to_string(n);
        // No automatic subordinate ids: the test picks a range away from everyone else's and
        // from the host ids other tests map as root (100000 and up).
        auto add =
            run_command({"useradd", "--no-create-home", "--shell", "/usr/sbin/nologin",
                         "--user-group", "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", user_});
        ASSERT_EQ(add.exit_code, 0) << add.describe();
        created_ = true;
        const passwd* pw = ::getpwnam(user_.c_str());
        ASSERT_NE(pw, nullptr) << user_;
        uid_ = pw->pw_uid;
        gid_ = pw->pw_gid;

        auto taken = read_ranges("/etc/subuid");
        auto gids = read_ranges("/etc/subgid");
        taken.insert(taken.end(), gids.begin(), gids.end());
        sub_start_ = 1'000'000 + static_cast<uint64_t>((::getpid() * 8 + n) % 8000) * kRange;
        while (overlaps(sub_start_, kRange, taken))
            sub_start_ += kRange;
        const std::string range =
            std::to_string(sub_start_) + "-" + std::to_string(sub_start_ + kRange - 1);
        auto mod = run_command({"usermod", "--add-subuids", range, "--add-subgids", range, user_});
        ASSERT_EQ(mod.exit_code, 0) << mod.describe();

        // The user's own directory: HOME, XDG_RUNTIME_DIR (so the default state root is
        // $XDG_RUNTIME_DIR/berth-runtime), the bundle and a directory it shares with containers.
        home_ = std::make_unique<TempDir>("berth-rootless");
        fs::create_directories(run_dir());
        fs::create_directories(out_dir());
        fs::create_directories(bundle());
        auto cp = run_command({"cp", "-a", rootfs, bundle() + "/rootfs"});
        ASSERT_EQ(cp.exit_code, 0) << cp.describe();
        const std::string owner = std::to_string(uid_) + ":" + std::to_string(gid_);
        ASSERT_EQ(run_command({"chown", "-R", owner, home()}).exit_code, 0);
        ASSERT_EQ(::chmod(run_dir().c_str(), 0700), 0);

        // The user must be able to run the runtime; a build under a private directory is copied.
        if (run_command({"test", "-x", runtime_}, as_user()).exit_code != 0) {
            const std::string copy = home() + "/berth-runtime";
            ASSERT_EQ(run_command({"cp", runtime_, copy}).exit_code, 0);
            runtime_ = copy;
            ASSERT_EQ(::chmod(runtime_.c_str(), 0755), 0);
        }
    }

    void TearDown() override {
        if (!created_) return;
        for (const auto& id : ids_)
            run({"delete", "--force", id});
        // Whatever still runs as the user or in its subordinate range is this test's.
        // (Until SetUp has learnt them, uid_ and sub_start_ are 0: never root's processes.)
        auto ours = [&] {
            std::vector<pid_t> pids;
            if (uid_ != 0) pids = processes_of(uid_, 1);
            if (sub_start_ != 0) {
                auto sub = processes_of(static_cast<uid_t>(sub_start_), kRange);
                pids.insert(pids.end(), sub.begin(), sub.end());
            }
            return pids;
        };
        for (pid_t pid : ours())
            ::kill(pid, SIGKILL);
        EXPECT_TRUE(eventually([&] { return ours().empty(); }, std::chrono::seconds(30)))
            << "processes of " << user_ << " left";
        auto del = run_command({"userdel", "--force", user_});
        EXPECT_EQ(del.exit_code, 0) << del.describe();
        remove_ranges_of(user_, "/etc/subuid");
        remove_ranges_of(user_, "/etc/subgid");
        home_.reset();
    }

    [[nodiscard]] std::string home() const { return home_->path(); }
    [[nodiscard]] std::string run_dir() const { return home() + "/run"; }
    [[nodiscard]] std::string out_dir() const { return home() + "/out"; }
    [[nodiscard]] std::string bundle() const { return home() + "/bundle"; }
    [[nodiscard]] std::string state_dir(const std::string& id) const {
        return run_dir() + "/berth-runtime/" + id;
    }

    [[nodiscard]] CommandOptions as_user() const {
        CommandOptions o;
        o.run_as_uid = static_cast<int>(uid_);
        o.run_as_gid = static_cast<int>(gid_);
        o.env = {"HOME=" + home(), "XDG_RUNTIME_DIR=" + run_dir(), "USER=" + user_,
                 "LOGNAME=" + user_};
        o.cwd = home();
        return o;
    }

    // berth-runtime as the user, with its default state root.
    CommandResult run(const std::vector<std::string>& args) const {
        std::vector<std::string> argv{runtime_};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_command(argv, as_user());
    }

    std::string new_id(const std::string& prefix) {
        ids_.push_back(unique_id(prefix));
        return ids_.back();
    }

    // `spec --rootless` as the user, with terminal off and the given process.
    json rootless_spec(const std::vector<std::string>& args) {
        fs::remove(bundle() + "/config.json");
        auto r = run({"spec", "--rootless", "--bundle", bundle()});
        EXPECT_EQ(r.exit_code, 0) << r.describe();
        json config = json::parse(std::ifstream(bundle() + "/config.json"));
        config["process"]["terminal"] = false;
        config["process"]["args"] = args;
        return config;
    }

    void write_config(const json& config) const {
        std::ofstream(bundle() + "/config.json", std::ios::trunc) << config.dump(2);
        ASSERT_EQ(::chown((bundle() + "/config.json").c_str(), uid_, gid_), 0);
    }

    static void add_bind(json& config, const std::string& source, const std::string& destination,
                         const std::string& mode = "rw") {
        config["mounts"].push_back({{"destination", destination},
                                    {"type", "bind"},
                                    {"source", source},
                                    {"options", {"bind", mode}}});
    }

    void expect_nothing_left(const std::string& id) const {
        EXPECT_FALSE(fs::exists(state_dir(id))) << "state directory left behind";
        auto cgroups = cgroup_dirs_named(id);
        EXPECT_TRUE(cgroups.empty()) << "cgroup left behind: " << cgroups.front();
        auto mounts = mounts_under(home());
        EXPECT_TRUE(mounts.empty()) << "mount left behind: " << mounts.front();
        EXPECT_TRUE(eventually(
            [&] {
                return processes_of(uid_, 1).empty() &&
                       processes_of(static_cast<uid_t>(sub_start_), kRange).empty();
            },
            std::chrono::seconds(30)))
            << "processes left behind";
    }

    std::string user_;
    uid_t uid_ = 0;
    gid_t gid_ = 0;
    uint64_t sub_start_ = 0;
    std::string runtime_;

  private:
    bool created_ = false;
    std::unique_ptr<TempDir> home_;
    std::vector<std::string> ids_;
};

}  // namespace

TEST_F(Rootless, SpecRootlessRunsInAUserNamespaceMappingTheUser) {
    json config = rootless_spec(
        {"sh", "-c", "id -u; cat /proc/self/uid_map; echo written > /out/file; stat -c %u /out"});
    EXPECT_EQ(config["linux"]["uidMappings"], json::array({mapping(0, uid_, 1)}));
    EXPECT_EQ(config["linux"]["gidMappings"], json::array({mapping(0, gid_, 1)}));
    add_bind(config, out_dir(), "/out");
    write_config(config);
    std::string id = new_id("rootless-spec");

    auto r = run({"run", "--bundle", bundle(), id});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    auto out = lines_of(r.out);
    ASSERT_EQ(out.size(), 3u) << r.out;
    EXPECT_EQ(out[0], "0") << "root inside";
    EXPECT_EQ(squeeze(out[1]), "0 " + std::to_string(uid_) + " 1") << "maps the user's uid";
    EXPECT_EQ(out[2], "0") << "the user's directory belongs to root inside";
    struct stat st {};
    ASSERT_EQ(::stat((out_dir() + "/file").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, uid_) << "a file written by container root belongs to the user";
    EXPECT_EQ(st.st_gid, gid_);
    EXPECT_EQ(read_text(out_dir() + "/file"), "written\n");
    expect_nothing_left(id);
}

TEST_F(Rootless, SubordinateRangesAreMappedThroughNewuidmap) {
    json config = rootless_spec({"sh", "-c",
                                 "cat /proc/self/uid_map /proc/self/gid_map; touch /out/owned; "
                                 "chown 1000:1000 /out/owned && echo chowned"});
    config["linux"]["uidMappings"] = {mapping(0, uid_, 1), mapping(1, sub_start_, kRange)};
    config["linux"]["gidMappings"] = {mapping(0, gid_, 1), mapping(1, sub_start_, kRange)};
    for (const char* set : {"bounding", "effective", "permitted"})
        config["process"]["capabilities"][set].push_back("CAP_CHOWN");
    add_bind(config, out_dir(), "/out");
    write_config(config);
    std::string id = new_id("rootless-range");

    auto r = run({"run", "--bundle", bundle(), id});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    auto out = lines_of(r.out);
    ASSERT_EQ(out.size(), 5u) << r.out;
    const std::string self = "0 " + std::to_string(uid_) + " 1";
    const std::string range = "1 " + std::to_string(sub_start_) + " " + std::to_string(kRange);
    EXPECT_EQ(squeeze(out[0]), self);
    EXPECT_EQ(squeeze(out[1]), range);
    EXPECT_EQ(squeeze(out[2]), "0 " + std::to_string(gid_) + " 1");
    EXPECT_EQ(squeeze(out[3]), range);
    EXPECT_EQ(out[4], "chowned");
    struct stat st {};
    ASSERT_EQ(::stat((out_dir() + "/owned").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, sub_start_ + 999) << "container uid 1000 is subordinate uid start+999";
    EXPECT_EQ(st.st_gid, sub_start_ + 999);
    expect_nothing_left(id);
}

TEST_F(Rootless, LifecycleVerbsWorkForTheUser) {
    write_config(rootless_spec({"sleep", "300"}));
    std::string id = new_id("rootless-verbs");

    auto created = run({"create", "--bundle", bundle(), id});
    ASSERT_EQ(created.exit_code, 0) << created.describe();
    EXPECT_TRUE(fs::is_directory(state_dir(id))) << "default state root: $XDG_RUNTIME_DIR";
    auto state = json::parse(run({"state", id}).out, nullptr, false);
    ASSERT_FALSE(state.is_discarded());
    EXPECT_EQ(state["status"], "created");
    EXPECT_EQ(state["owner"], user_);
    const int pid = state["pid"];
    EXPECT_GT(pid, 0);

    auto list = run({"list"});
    EXPECT_EQ(list.exit_code, 0) << list.describe();
    auto rows = lines_of(list.out);
    ASSERT_EQ(rows.size(), 2u) << list.out;
    EXPECT_NE(rows[1].find(id), std::string::npos) << list.out;
    EXPECT_NE(rows[1].find("created"), std::string::npos) << list.out;
    EXPECT_NE(rows[1].find(user_), std::string::npos) << list.out;

    auto start = run({"start", id});
    ASSERT_EQ(start.exit_code, 0) << start.describe();
    EXPECT_EQ(json::parse(run({"state", id}).out)["status"], "running");

    auto exec = run({"exec", id, "sh", "-c", "id -u; cat /proc/1/comm"});
    EXPECT_EQ(exec.exit_code, 0) << exec.describe();
    EXPECT_EQ(exec.out, "0\nsleep\n");
    auto detached = run({"exec", "-d", id, "sleep", "299"});
    EXPECT_EQ(detached.exit_code, 0) << detached.describe();

    // No cgroup to ask: ps finds the container's processes through its pid namespace.
    auto ps = run({"ps", "--format", "json", id});
    ASSERT_EQ(ps.exit_code, 0) << ps.describe();
    auto pids = json::parse(ps.out);
    EXPECT_EQ(pids.size(), 2u) << ps.out;
    EXPECT_NE(std::find(pids.begin(), pids.end(), pid), pids.end()) << ps.out;

    auto kill = run({"kill", "--all", id, "KILL"});
    EXPECT_EQ(kill.exit_code, 0) << kill.describe();
    EXPECT_TRUE(eventually(
        [&] {
            return json::parse(run({"state", id}).out, nullptr, false)["status"] == "stopped";
        },
        std::chrono::seconds(30)));

    auto del = run({"delete", id});
    EXPECT_EQ(del.exit_code, 0) << del.describe();
    EXPECT_NE(run({"state", id}).exit_code, 0);
    EXPECT_EQ(run({"list", "--quiet"}).out, "");
    expect_nothing_left(id);
}

// runc, rootless without a cgroupsPath, skips the cgroups it cannot create, and ignores device
// rules there; it fails on any resource limit ("cannot set memory limit: container could not
// join or create cgroup") and on a cgroupsPath it cannot create. berth-runtime does the same,
// and says once which hierarchies it skipped.
TEST_F(Rootless, CgroupsThatAreNotDelegatedAreSkippedWithOneWarning) {
    json config = rootless_spec({"sh", "-c", "echo ran; ls /sys/fs/cgroup/memory/cgroup.procs"});
    config["linux"]["resources"] = {{"devices", {{{"allow", false}, {"access", "rwm"}}}}};
    write_config(config);
    std::string id = new_id("rootless-cgroup");

    auto r = run({"run", "--bundle", bundle(), id});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out, "ran\n/sys/fs/cgroup/memory/cgroup.procs\n")
        << "the container sees the cgroup it runs in (the runtime's), as with runc";
    auto err = lines_of(r.err);
    ASSERT_EQ(err.size(), 1u) << r.err;
    EXPECT_NE(err[0].find("warning: rootless: no cgroup for the container in "), std::string::npos)
        << r.err;
    EXPECT_NE(err[0].find("memory"), std::string::npos) << r.err;
    EXPECT_NE(err[0].find("not delegated"), std::string::npos) << r.err;
    expect_nothing_left(id);
}

TEST_F(Rootless, ResourceLimitsWithoutACgroupFailAsInRunc) {
    json config = rootless_spec({"true"});
    config["linux"]["resources"] = {{"memory", {{"limit", 64 << 20}}}};
    write_config(config);
    std::string id = new_id("rootless-limit");
    auto r = run({"run", "--bundle", bundle(), id});
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    auto errors = error_lines(r.err);
    ASSERT_EQ(errors.size(), 1u) << r.err;
    EXPECT_NE(errors[0].find("linux.resources.memory: cannot be applied"), std::string::npos)
        << r.err;
    EXPECT_NE(errors[0].find("not delegated"), std::string::npos) << r.err;
    expect_nothing_left(id);

    config["linux"].erase("resources");
    config["linux"]["cgroupsPath"] = "/" + id + "-explicit";
    write_config(config);
    std::string named = new_id("rootless-path");
    r = run({"run", "--bundle", bundle(), named});
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    errors = error_lines(r.err);
    ASSERT_EQ(errors.size(), 1u) << r.err;
    EXPECT_NE(errors[0].find("cannot create cgroup"), std::string::npos) << r.err;
    EXPECT_NE(errors[0].find("Permission denied"), std::string::npos) << r.err;
    expect_nothing_left(named);
    EXPECT_TRUE(cgroup_dirs_named(id + "-explicit").empty());
}

TEST_F(Rootless, DeleteLeavesNothingBehind) {
    write_config(rootless_spec({"sh", "-c", "sleep 300 & exec sleep 301"}));
    std::string id = new_id("rootless-clean");
    auto r = run({"run", "--detach", "--bundle", bundle(), id});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    ASSERT_EQ(run({"exec", "--detach", id, "sleep", "302"}).exit_code, 0);
    EXPECT_TRUE(eventually([&] { return processes_of(uid_, 1).size() >= 3; }))
        << "init, its child and the exec'd process";
    auto del = run({"delete", "--force", id});
    EXPECT_EQ(del.exit_code, 0) << del.describe();
    expect_nothing_left(id);
}

TEST_F(Rootless, ContainerRootCannotWriteWhatTheHostsRootOwns) {
    // A directory and a file of the host's root, bind-mounted read-write.
    const std::string host_dir = home() + "/root-owned";
    fs::create_directories(host_dir);
    ASSERT_EQ(::chmod(host_dir.c_str(), 0755), 0);
    std::ofstream(host_dir + "/file") << "original\n";
    ASSERT_EQ(::chmod((host_dir + "/file").c_str(), 0644), 0);
    json config = rootless_spec(
        {"sh", "-c",
         "stat -c %u:%g /host/file; (echo changed >> /host/file) 2>/dev/null && echo wrote || "
         "echo denied; touch /host/new 2>/dev/null && echo created || echo denied; "
         "cat /shadow >/dev/null 2>&1 && echo read || echo denied"});
    // Even with the capabilities that pass over file permissions: they count only for ids the
    // user namespace maps.
    for (const char* set : {"bounding", "effective", "permitted"})
        for (const char* cap : {"CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER"})
            config["process"]["capabilities"][set].push_back(cap);
    add_bind(config, host_dir, "/host");
    // Readable only by the host's root (and group shadow).
    add_bind(config, "/etc/shadow", "/shadow", "ro");
    write_config(config);
    std::string id = new_id("rootless-escalate");

    auto r = run({"run", "--bundle", bundle(), id});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    const std::string overflow = squeeze(read_text("/proc/sys/kernel/overflowuid"));
    const std::string overflow_gid = squeeze(read_text("/proc/sys/kernel/overflowgid"));
    EXPECT_EQ(r.out, overflow + ":" + overflow_gid + "\ndenied\ndenied\ndenied\n")
        << "the host's root is nobody inside, and nothing of it can be written or read";
    EXPECT_EQ(read_text(host_dir + "/file"), "original\n");
    EXPECT_FALSE(fs::exists(host_dir + "/new"));
    expect_nothing_left(id);
}

TEST_F(Rootless, MappingIdsTheUserDoesNotOwnFailsWithOneLine) {
    json config = rootless_spec({"true"});
    // The range after the user's own belongs to nobody; host uid 0 to root.
    for (const json& uids :
         {json::array({mapping(0, uid_, 1), mapping(1, sub_start_ + kRange, kRange)}),
          json::array({mapping(0, 0, 1)})}) {
        config["linux"]["uidMappings"] = uids;
        write_config(config);
        std::string id = new_id("rootless-unowned");
        auto r = run({"run", "--bundle", bundle(), id});
        EXPECT_EQ(r.exit_code, 1) << r.describe();
        auto errors = error_lines(r.err);
        ASSERT_EQ(errors.size(), 1u) << r.err;
        EXPECT_NE(errors[0].find("linux.uidMappings: newuidmap "), std::string::npos) << r.err;
        EXPECT_NE(errors[0].find("/etc/subuid"), std::string::npos) << r.err;
        expect_nothing_left(id);
    }
}

TEST_F(Rootless, AMountOptionNamingAnUnmappedIdFailsBeforeAnythingStarts) {
    // Plain `spec` (made for root) plus a user namespace: devpts's gid=5 does not exist there.
    fs::remove(bundle() + "/config.json");
    ASSERT_EQ(run({"spec", "--bundle", bundle()}).exit_code, 0);
    json config = json::parse(std::ifstream(bundle() + "/config.json"));
    config["process"]["terminal"] = false;
    config["process"]["args"] = {"true"};
    config["linux"]["namespaces"].push_back({{"type", "user"}});
    config["linux"]["uidMappings"] = {mapping(0, uid_, 1)};
    config["linux"]["gidMappings"] = {mapping(0, gid_, 1)};
    write_config(config);
    std::string id = new_id("rootless-gid");
    auto r = run({"run", "--bundle", bundle(), id});
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    auto errors = error_lines(r.err);
    ASSERT_EQ(errors.size(), 1u) << r.err;
    EXPECT_NE(errors[0].find("gid=5 is not mapped by linux.gidMappings"), std::string::npos)
        << r.err;
    expect_nothing_left(id);
}
