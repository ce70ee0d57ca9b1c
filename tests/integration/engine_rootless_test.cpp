// The rootless engine end to end: berth run by an unprivileged user made for each test, with
// subordinate id ranges of its own, its default storage (~/.local/share/berth) and run
// directory (/tmp/berth-run-UID: no XDG_RUNTIME_DIR), on this host's cgroup v1 without
// delegation. The user, its ranges, its processes (the pause process, monitors, containers,
// slirp4netns) and its files are removed in TearDown, also when an assertion fails; the leak
// checks look in the user's mount namespace (the pause process's) and at its processes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/fixture.hpp"
#include "support/http_server.hpp"
#include "support/images.hpp"
#include "support/subordinate_ids.hpp"

namespace fs = std::filesystem;
using namespace berth::test;

namespace {

constexpr uint64_t kRange = 65536;

// Processes whose real uid is in [first, first + count), with their command names.
std::vector<std::pair<pid_t, std::string>> processes_of(uint64_t first, uint64_t count) {
    std::vector<std::pair<pid_t, std::string>> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
        std::ifstream status(entry.path() / "status");
        std::string line, comm;
        while (std::getline(status, line)) {
            if (line.rfind("Name:", 0) == 0) {
                std::istringstream fields(line.substr(5));
                fields >> comm;
            }
            if (line.rfind("State:", 0) == 0 && line.find("zombie") != std::string::npos) break;
            if (line.rfind("Uid:", 0) != 0) continue;
            std::istringstream fields(line.substr(4));
            uint64_t uid = 0;
            if (fields >> uid && uid >= first && uid < first + count)
                out.emplace_back(static_cast<pid_t>(std::stol(name)), comm);
            break;
        }
    }
    return out;
}

class RootlessEngine : public ::testing::Test {
  protected:
    // The busybox image plus files owned by ids other than root's, inside ids 1000:1001 and
    // 4242:4242 (unpacked by the user, they belong to its subordinate ids on the host).
    static void SetUpTestSuite() {
        image_dir_ = std::make_unique<TempDir>("berth-rootless-image");
        const std::string rootfs = image_dir_->path() + "/rootfs";
        auto cp = run_command({"cp", "-a", busybox_rootfs_template(), rootfs});
        ASSERT_EQ(cp.exit_code, 0) << cp.describe();
        std::ofstream(rootfs + "/owned") << "theirs\n";
        ASSERT_EQ(::chown((rootfs + "/owned").c_str(), 1000, 1001), 0);
        fs::create_directory(rootfs + "/data");
        ASSERT_EQ(::chown((rootfs + "/data").c_str(), 4242, 4242), 0);
        archive_ = image_dir_->path() + "/busybox-owned.tar";
        CommandOptions temp;
        temp.env = {"TMPDIR=" + image_dir_->path()};
        auto make =
            run_command({source_dir() + "/scripts/make-busybox-image.sh", rootfs, archive_}, temp);
        ASSERT_EQ(make.exit_code, 0) << make.describe();

        // A second image of two layers: the busybox one (with /data/old), then one that
        // deletes /owned (a whiteout), makes /data opaque and adds files of other owners.
        std::ofstream(rootfs + "/data/old") << "old\n";
        ASSERT_EQ(::chown((rootfs + "/data/old").c_str(), 4242, 4242), 0);
        const std::string upper = image_dir_->path() + "/upper";
        fs::create_directories(upper + "/data");
        std::ofstream(upper + "/.wh.owned").flush();
        std::ofstream(upper + "/data/.wh..wh..opq").flush();
        std::ofstream(upper + "/data/new") << "new\n";
        ASSERT_EQ(::chown((upper + "/data").c_str(), 4242, 4242), 0);
        ASSERT_EQ(::chown((upper + "/data/new").c_str(), 4242, 4242), 0);
        std::ofstream(upper + "/added") << "added\n";
        ASSERT_EQ(::chown((upper + "/added").c_str(), 2000, 2000), 0);
        layered_archive_ = image_dir_->path() + "/layered.tar";
        auto layered = run_command({"sh", "-c", kTwoLayerImageScript, "sh", rootfs, upper,
                                    layered_archive_, image_dir_->path()});
        ASSERT_EQ(layered.exit_code, 0) << layered.describe();

        ASSERT_EQ(::chmod(image_dir_->path().c_str(), 0755), 0);
        ASSERT_EQ(::chmod(archive_.c_str(), 0644), 0);
        ASSERT_EQ(::chmod(layered_archive_.c_str(), 0644), 0);
    }

    // sh -c SCRIPT sh LOWER UPPER OUT.tar TMPDIR: a `docker save` archive of two layers
    // (localhost/layered:latest), as scripts/make-busybox-image.sh makes one of one.
    static constexpr const char* kTwoLayerImageScript = R"sh(set -eu
work=$(mktemp -d "$4/layered.XXXXXX")
case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64) arch=arm64 ;;
  *) arch=$(uname -m) ;;
esac
tar --numeric-owner --sort=name -C "$1" -cf "$work/l1.tar" .
tar --numeric-owner --sort=name -C "$2" -cf "$work/l2.tar" .
d1=$(sha256sum "$work/l1.tar" | cut -d' ' -f1)
d2=$(sha256sum "$work/l2.tar" | cut -d' ' -f1)
mkdir "$work/$d1" "$work/$d2"
mv "$work/l1.tar" "$work/$d1/layer.tar"
mv "$work/l2.tar" "$work/$d2/layer.tar"
printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s","sha256:%s"]}}'   "$arch" "$d1" "$d2" > "$work/config.json"
c=$(sha256sum "$work/config.json" | cut -d' ' -f1)
mv "$work/config.json" "$work/$c.json"
printf '[{"Config":"%s.json","RepoTags":["localhost/layered:latest"],"Layers":["%s/layer.tar","%s/layer.tar"]}]'   "$c" "$d1" "$d2" > "$work/manifest.json"
tar --numeric-owner -C "$work" -cf "$3" manifest.json "$c.json" "$d1" "$d2"
rm -rf "$work"
)sh";
    static void TearDownTestSuite() { image_dir_.reset(); }

    void SetUp() override {
        auto tools = run_command({"sh", "-c",
                                  "command -v useradd && command -v userdel && command -v usermod "
                                  "&& command -v newuidmap && command -v slirp4netns"});
        if (tools.exit_code != 0)
            GTEST_SKIP() << "needs useradd, usermod, userdel, newuidmap (uidmap) and slirp4netns";
        if (image_dir_ == nullptr || archive_.empty()) GTEST_SKIP() << "no image archive";
        static int counter = 0;
        const int n = counter++;
        user_ = "berthrl" + std::to_string(::getpid()) + "n" + std::to_string(n);
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
        // Away from the runtime tests' ranges (1000000 + ...) and root's (100000 and up).
        sub_start_ = 600'000'000 + static_cast<uint64_t>((::getpid() * 8 + n) % 4000) * kRange;
        while (overlaps(sub_start_, kRange, taken))
            sub_start_ += kRange;
        const std::string range =
            std::to_string(sub_start_) + "-" + std::to_string(sub_start_ + kRange - 1);
        auto mod = run_command({"usermod", "--add-subuids", range, "--add-subgids", range, user_});
        ASSERT_EQ(mod.exit_code, 0) << mod.describe();

        home_ = std::make_unique<TempDir>("berth-rootless-home");
        ASSERT_EQ(::chown(home().c_str(), uid_, gid_), 0);
        ASSERT_EQ(::chmod(home().c_str(), 0700), 0);
        // berth finds berth-monitor and berth-runtime beside itself: a build the user cannot
        // reach is copied.
        berth_ = berth_binary();
        if (run_command({"test", "-x", berth_}, as_user()).exit_code != 0) {
            fs::create_directory(home() + "/bin");
            for (const char* name : {"berth", "berth-monitor", "berth-runtime"})
                fs::copy_file(fs::path(berth_binary()).parent_path() / name,
                              home() + "/bin/" + name);
            ASSERT_EQ(run_command({"chown", "-R", std::to_string(uid_), home() + "/bin"}).exit_code,
                      0);
            berth_ = home() + "/bin/berth";
        }
        struct stat tun {};
        ASSERT_EQ(::stat("/dev/net/tun", &tun), 0);
        ASSERT_EQ(tun.st_mode & 0666, 0666U)
            << "slirp4netns needs /dev/net/tun mode 0666 (scripts/install-deps.sh sets it)";

        auto load = berth({"load", "-i", archive_});
        ASSERT_EQ(load.exit_code, 0) << load.describe();
    }

    void TearDown() override {
        if (!created_) return;
        if (!berth_.empty()) {
            for (const auto& id : lines_of(berth({"ps", "-aq"}).out))
                berth({"rm", "-f", id});
            EXPECT_EQ(berth({"ps", "-aq"}).out, "");
            EXPECT_EQ(user_mounts(), std::vector<std::string>{});
            EXPECT_EQ(helpers_running(), std::vector<std::string>{});
            EXPECT_EQ(run_directory_leftovers(), std::vector<std::string>{});
            for (const auto& p : processes_of(sub_start_, kRange))
                ADD_FAILURE() << "container process left: " << p.first << " " << p.second;
            EXPECT_TRUE(eventually([&] {
                return container_dirs_in(storage() + "/containers").empty();
            })) << "container directories left: "
                << ::testing::PrintToString(container_dirs_in(storage() + "/containers"));
        }
        // Whatever still runs as the user or its subordinate ids is this test's (the pause
        // process among them).
        auto ours = [&] {
            auto pids = processes_of(uid_, 1);
            auto sub = processes_of(sub_start_, kRange);
            pids.insert(pids.end(), sub.begin(), sub.end());
            return pids;
        };
        if (uid_ != 0)
            for (const auto& p : ours())
                ::kill(p.first, SIGKILL);
        EXPECT_TRUE(
            eventually([&] { return uid_ == 0 || ours().empty(); }, std::chrono::seconds(30)))
            << "processes of " << user_ << " left";
        auto del = run_command({"userdel", "--force", user_});
        EXPECT_EQ(del.exit_code, 0) << del.describe();
        remove_ranges_of(user_, "/etc/subuid");
        remove_ranges_of(user_, "/etc/subgid");
        if (uid_ != 0) run_command({"rm", "-rf", run_dir()});
        home_.reset();
    }

    [[nodiscard]] std::string home() const { return home_->path(); }
    [[nodiscard]] std::string storage() const { return home() + "/.local/share/berth"; }
    [[nodiscard]] std::string run_dir() const { return "/tmp/berth-run-" + std::to_string(uid_); }

    [[nodiscard]] CommandOptions as_user() const {
        CommandOptions o;
        o.run_as_uid = static_cast<int>(uid_);
        o.run_as_gid = static_cast<int>(gid_);
        // Empty XDG variables count as unset: the defaults are what is tested.
        o.env = {"HOME=" + home(), "USER=" + user_, "LOGNAME=" + user_,
                 "XDG_RUNTIME_DIR=", "XDG_DATA_HOME="};
        o.cwd = home();
        return o;
    }

    // berth ARGS as the user, with its default storage (or these environment variables).
    CommandResult berth(const std::vector<std::string>& args,
                        const std::vector<std::string>& env = {}) const {
        std::vector<std::string> argv{berth_};
        argv.insert(argv.end(), args.begin(), args.end());
        CommandOptions options = as_user();
        for (const auto& entry : env) {  // replaces the default's entry for the same name
            const std::string name = entry.substr(0, entry.find('=') + 1);
            std::erase_if(options.env, [&](const std::string& e) { return e.starts_with(name); });
            options.env.push_back(entry);
        }
        return run_command(argv, options);
    }

    [[nodiscard]] pid_t pause_pid() const {
        std::istringstream in(read_text(run_dir() + "/pause.pid"));
        pid_t pid = 0;
        in >> pid;
        return pid;
    }

    // Mounts under the user's home and run directory, seen from its mount namespace.
    [[nodiscard]] std::vector<std::string> user_mounts() const {
        std::vector<std::string> out;
        pid_t pause = pause_pid();
        if (pause <= 0) return out;
        for (const auto& line : lines_of(read_text("/proc/" + std::to_string(pause) + "/mounts"))) {
            std::istringstream fields(line);
            std::string source, target;
            fields >> source >> target;
            if (target.starts_with(home()) || target.starts_with(run_dir())) out.push_back(target);
        }
        return out;
    }

    // The user's processes but the pause process: monitors, slirp4netns, and the containers'
    // (their root is the user).
    [[nodiscard]] std::vector<std::string> helpers_running() const {
        std::vector<std::string> out;
        for (const auto& [pid, comm] : processes_of(uid_, 1))
            if (comm != "berth-pause") out.push_back(std::to_string(pid) + " " + comm);
        return out;
    }

    // Network namespaces, slirp4netns sockets and runtime state left in the run directory.
    [[nodiscard]] std::vector<std::string> run_directory_leftovers() const {
        std::vector<std::string> out;
        auto info = nlohmann::json::parse(berth({"info"}).out, nullptr, false);
        if (!info.is_object()) return {"no berth info"};
        std::string run = info.value("RunRoot", "");
        std::error_code ec;
        for (const auto& sub : {"/netns", "/slirp4netns", "/runtime", "/console"})
            for (const auto& entry : fs::directory_iterator(run + sub, ec))
                if (!entry.path().filename().string().starts_with("."))  // the seccomp cache
                    out.push_back(entry.path().string());
        return out;
    }

    [[nodiscard]] nlohmann::json inspect(const std::string& name) const {
        auto j = nlohmann::json::parse(berth({"inspect", name}).out, nullptr, false);
        return j.is_array() && !j.empty() ? j[0] : nlohmann::json();
    }

    static std::unique_ptr<TempDir> image_dir_;
    static std::string archive_;
    static std::string layered_archive_;
    std::string user_;
    bool created_ = false;
    uid_t uid_ = 0;
    gid_t gid_ = 0;
    uint64_t sub_start_ = 0;
    std::unique_ptr<TempDir> home_;
    std::string berth_;
    const std::string image_ = "localhost/busybox";
};

std::unique_ptr<TempDir> RootlessEngine::image_dir_;
std::string RootlessEngine::archive_;
std::string RootlessEngine::layered_archive_;

TEST_F(RootlessEngine, RunsAsUserWithSubIdOwnersAndPerUserStorage) {
    auto id = berth({"run", "--rm", image_, "id"});
    ASSERT_EQ(id.exit_code, 0) << id.describe();
    EXPECT_TRUE(id.out.starts_with("uid=0(root) gid=0(root)")) << id.out;

    // Inside: the image's owners as they were; on the host: the user's subordinate ids.
    auto owners = berth({"run", "--rm", image_, "stat", "-c", "%u:%g", "/owned", "/data"});
    ASSERT_EQ(owners.exit_code, 0) << owners.describe();
    EXPECT_EQ(owners.out, "1000:1001\n4242:4242\n");
    bool found = false;
    for (auto it = fs::recursive_directory_iterator(storage()); it != fs::end(it); ++it) {
        if (it->path().filename() != "owned" || !it->is_regular_file()) continue;
        struct stat st {};
        ASSERT_EQ(::lstat(it->path().c_str(), &st), 0);
        EXPECT_EQ(st.st_uid, sub_start_ + 999) << it->path();
        EXPECT_EQ(st.st_gid, sub_start_ + 1000) << it->path();
        found = true;
    }
    EXPECT_TRUE(found) << "no unpacked /owned under " << storage();

    // The pause process maps 0 to the user and 1.. to its range.
    std::string map = read_text("/proc/" + std::to_string(pause_pid()) + "/uid_map");
    std::istringstream fields(map);
    std::vector<uint64_t> numbers;
    for (uint64_t v = 0; fields >> v;)
        numbers.push_back(v);
    EXPECT_EQ(numbers, (std::vector<uint64_t>{0, uid_, 1, 1, sub_start_, kRange})) << map;

    // Storage and run directory: the user's, the run directory 0700.
    auto info = nlohmann::json::parse(berth({"info"}).out, nullptr, false);
    ASSERT_TRUE(info.is_object());
    EXPECT_EQ(info["Root"], storage());
    EXPECT_TRUE(info["RunRoot"].get<std::string>().starts_with(run_dir() + "/")) << info;
    EXPECT_EQ(info["Rootless"], true);
    struct stat st {};
    ASSERT_EQ(::stat(run_dir().c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, uid_);
    EXPECT_EQ(st.st_mode & 0777, 0700U);
    ASSERT_EQ(::stat(storage().c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, uid_);
}

TEST_F(RootlessEngine, XdgDirectoriesAndRootAreHonoured) {
    const std::string data = home() + "/data", run = home() + "/xdg-run";
    fs::create_directories(run);
    ASSERT_EQ(::chown(run.c_str(), uid_, gid_), 0);
    ASSERT_EQ(::chmod(run.c_str(), 0700), 0);
    const std::vector<std::string> xdg = {"XDG_DATA_HOME=" + data, "XDG_RUNTIME_DIR=" + run};
    auto info = nlohmann::json::parse(berth({"info"}, xdg).out, nullptr, false);
    ASSERT_TRUE(info.is_object());
    EXPECT_EQ(info["Root"], data + "/berth");
    EXPECT_TRUE(info["RunRoot"].get<std::string>().starts_with(run + "/berth/")) << info;
    EXPECT_TRUE(fs::exists(run + "/berth/pause.pid"));
    auto load = berth({"load", "-i", archive_}, xdg);
    ASSERT_EQ(load.exit_code, 0) << load.describe();
    auto r = berth({"run", "--rm", "--network", "none", image_, "echo", "ok"}, xdg);
    EXPECT_EQ(r.out, "ok\n") << r.describe();

    // --root still wins.
    const std::string custom = home() + "/custom-root";
    auto custom_info = nlohmann::json::parse(berth({"--root", custom, "info"}).out, nullptr, false);
    ASSERT_TRUE(custom_info.is_object());
    EXPECT_EQ(custom_info["Root"], custom);
}

TEST_F(RootlessEngine, LayerWhiteoutsAndOwnersUnpackForTheUser) {
    auto load = berth({"load", "-i", layered_archive_});
    ASSERT_EQ(load.exit_code, 0) << load.describe();
    auto r =
        berth({"run", "--rm", "--network", "none", "localhost/layered", "sh", "-c",
               "test -e /owned && echo owned; ls /data; stat -c %u:%g /added /data /data/new"});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out, "new\n2000:2000\n4242:4242\n4242:4242\n");
    // Another image's snapshot is another directory: its /owned is there.
    auto other = berth({"run", "--rm", "--network", "none", image_, "cat", "/owned"});
    EXPECT_EQ(other.out, "theirs\n") << other.describe();
}

TEST_F(RootlessEngine, WritesAndWhiteoutsThenRmLeavesNothing) {
    auto r = berth({"run", "-d", "--name", "writer", image_, "sh", "-c",
                    "echo data > /written && rm /owned && mkdir /data/sub && exec sleep 1000"});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    std::string id = trimmed(r.out);
    ASSERT_TRUE(eventually([&] {
        return berth({"exec", "writer", "cat", "/written"}).out == "data\n";
    })) << berth({"exec", "writer", "ls", "/"}).describe();
    // No cgroup (v1, not delegated): none was made for it anywhere.
    EXPECT_EQ(cgroup_dirs_named(id), std::vector<std::string>{});
    // top without a cgroup: through the container's pid namespace.
    auto top = berth({"top", "writer"});
    EXPECT_NE(top.out.find("sleep 1000"), std::string::npos) << top.describe();
    auto logs = berth({"logs", "writer"});
    EXPECT_EQ(logs.exit_code, 0) << logs.describe();
    auto gone = berth({"exec", "writer", "sh", "-c", "test -e /owned || echo whiteout"});
    EXPECT_EQ(gone.out, "whiteout\n") << gone.describe();
    // The image itself is untouched: another container still has the file.
    auto other = berth({"run", "--rm", "--network", "none", image_, "cat", "/owned"});
    EXPECT_EQ(other.out, "theirs\n") << other.describe();
    EXPECT_FALSE(user_mounts().empty());

    auto rm = berth({"rm", "-f", "writer"});
    EXPECT_EQ(rm.exit_code, 0) << rm.describe();
    EXPECT_EQ(berth({"ps", "-aq"}).out, "");
    EXPECT_EQ(user_mounts(), std::vector<std::string>{});
    EXPECT_TRUE(eventually([&] { return helpers_running().empty(); }))
        << ::testing::PrintToString(helpers_running());
    EXPECT_TRUE(eventually([&] { return processes_of(sub_start_, kRange).empty(); }));
    EXPECT_FALSE(fs::exists(storage() + "/containers/" + id));
}

TEST_F(RootlessEngine, PublishedPortThroughSlirp4netnsThenStopLeavesNothing) {
    const int port = free_port();
    auto r = berth({"run", "-d", "--name", "web", "-p", std::to_string(port) + ":80", image_, "sh",
                    "-c", "echo hello > /tmp/index.html && exec httpd -f -p 80 -h /tmp"});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    std::string id = trimmed(r.out);
    EXPECT_EQ(berth({"port", "web"}).out, "80/tcp -> 0.0.0.0:" + std::to_string(port) + "\n");
    bool slirp = false;
    for (const auto& [pid, comm] : processes_of(uid_, 1))
        slirp = slirp || comm == "slirp4netns";
    EXPECT_TRUE(slirp) << "no slirp4netns for the container";

    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/index.html";
    CommandResult fetched;
    EXPECT_TRUE(eventually([&] {
        fetched = run_command({"curl", "-sf", "--max-time", "5", url});
        return fetched.out == "hello\n";
    })) << fetched.describe();
    std::string address = trimmed(run_command({"sh", "-c", "hostname -I | cut -d' ' -f1"}).out);
    auto outside = run_command({"curl", "-sf", "--max-time", "5",
                                "http://" + address + ":" + std::to_string(port) + "/index.html"});
    EXPECT_EQ(outside.out, "hello\n") << outside.describe();

    // The container's network: slirp4netns' tap, its DNS forwarder, its name in hosts.
    auto net = berth({"exec", "web", "sh", "-c",
                      "ip -o -4 addr show tap0 | awk '{print $4}'; cat /etc/resolv.conf"});
    EXPECT_EQ(lines_of(net.out).at(0), "10.0.2.100/24") << net.describe();
    EXPECT_NE(net.out.find("nameserver 10.0.2.3\n"), std::string::npos) << net.out;

    auto stop = berth({"stop", "-t", "1", "web"});
    EXPECT_EQ(stop.exit_code, 0) << stop.describe();
    EXPECT_TRUE(eventually([&] { return helpers_running().empty(); }))
        << ::testing::PrintToString(helpers_running());
    EXPECT_NE(run_command({"curl", "-sf", "--max-time", "2", url}).exit_code, 0);
    // Started again, it serves again (a new slirp4netns), then rm leaves nothing.
    auto again = berth({"start", "web"});
    EXPECT_EQ(again.exit_code, 0) << again.describe();
    EXPECT_TRUE(eventually([&] {
        return run_command({"curl", "-sf", "--max-time", "5", url}).out == "hello\n";
    }));
    auto rm = berth({"rm", "-f", "web"});
    EXPECT_EQ(rm.exit_code, 0) << rm.describe();
    EXPECT_TRUE(eventually([&] { return helpers_running().empty(); }))
        << ::testing::PrintToString(helpers_running());
    EXPECT_EQ(user_mounts(), std::vector<std::string>{});
    EXPECT_FALSE(fs::exists(storage() + "/containers/" + id));
}

TEST_F(RootlessEngine, PortInUseFailsWithOneLineAndLeavesNothing) {
    int holder = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(holder, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ::getsockname(holder, reinterpret_cast<sockaddr*>(&addr), &len);
    ::listen(holder, 1);
    const std::string port = std::to_string(ntohs(addr.sin_port));
    auto r = berth({"run", "-d", "-p", port + ":80", image_, "sleep", "100"});
    ::close(holder);
    EXPECT_EQ(r.exit_code, 125) << r.describe();
    EXPECT_EQ(lines_of(r.err).size(), 1U) << r.err;
    EXPECT_NE(r.err.find("port " + port), std::string::npos) << r.err;
    EXPECT_EQ(berth({"ps", "-aq"}).out, "");
    EXPECT_TRUE(eventually([&] { return helpers_running().empty(); }))
        << ::testing::PrintToString(helpers_running());
    EXPECT_EQ(user_mounts(), std::vector<std::string>{});
}

TEST_F(RootlessEngine, NetworkNoneHasOnlyLoopback) {
    auto r =
        berth({"run", "--rm", "--network", "none", image_, "sh", "-c", "ls /sys/class/net | sort"});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out, "lo\n");
    auto dflt = berth({"run", "--rm", image_, "sh", "-c", "ls /sys/class/net | sort"});
    ASSERT_EQ(dflt.exit_code, 0) << dflt.describe();
    EXPECT_EQ(dflt.out, "lo\ntap0\n");
    auto host = berth({"run", "--rm", "--network", "host", image_, "true"});
    EXPECT_EQ(host.exit_code, 0) << host.describe();
    // container:NAME joins another's slirp4netns namespace (named explicitly, as podman).
    auto first = berth(
        {"run", "-d", "--name", "netowner", "--network", "slirp4netns", image_, "sleep", "1000"});
    ASSERT_EQ(first.exit_code, 0) << first.describe();
    auto joined = berth({"run", "--rm", "--network", "container:netowner", image_, "sh", "-c",
                         "ls /sys/class/net | sort"});
    EXPECT_EQ(joined.out, "lo\ntap0\n") << joined.describe();
    EXPECT_EQ(berth({"rm", "-f", "netowner"}).exit_code, 0);
    EXPECT_TRUE(eventually([&] { return helpers_running().empty(); }));
}

TEST_F(RootlessEngine, BridgeNetworksAndLimitsAreRefusedOrWarned) {
    for (const std::string network : {"bridge", "mynet"}) {
        auto r = berth({"run", "--rm", "--network", network, image_, "true"});
        EXPECT_EQ(r.exit_code, 125) << r.describe();
        EXPECT_EQ(lines_of(r.err).size(), 1U) << r.err;
        EXPECT_NE(r.err.find("network " + network + ": rootless"), std::string::npos) << r.err;
    }
    EXPECT_EQ(berth({"ps", "-aq"}).out, "");
    EXPECT_EQ(berth({"network", "ls", "-q"}).out, "");  // "bridge" was not made

    // Limits: one warning line, and the container runs without them.
    auto limited = berth({"run", "--rm", "--network", "none", "--memory", "64m", "--pids-limit",
                          "50", image_, "echo", "ran"});
    EXPECT_EQ(limited.exit_code, 0) << limited.describe();
    EXPECT_EQ(limited.out, "ran\n");
    EXPECT_EQ(lines_of(limited.err).size(), 1U) << limited.err;
    EXPECT_NE(limited.err.find("ignored for rootless containers on cgroup v1"), std::string::npos)
        << limited.err;
}

TEST_F(RootlessEngine, PauseProcessKilledThenStartMountsTheRootfsAgain) {
    auto create = berth({"create", "--name", "keeper", "--network", "none", image_, "sh", "-c",
                         "cat /mark 2>/dev/null || echo none; echo kept > /mark"});
    ASSERT_EQ(create.exit_code, 0) << create.describe();
    auto first = berth({"start", "-a", "keeper"});
    EXPECT_EQ(first.out, "none\n") << first.describe();
    pid_t pause = pause_pid();
    ASSERT_GT(pause, 0);
    ASSERT_EQ(::kill(pause, SIGKILL), 0);
    ASSERT_TRUE(eventually([&] { return ::kill(pause, 0) != 0; }));
    // A new pause process, a new mount namespace: start mounts the overlay again, with the
    // container's upper directory.
    auto second = berth({"start", "-a", "keeper"});
    EXPECT_EQ(second.out, "kept\n") << second.describe();
    EXPECT_NE(pause_pid(), pause);
    auto rm = berth({"rm", "keeper"});
    EXPECT_EQ(rm.exit_code, 0) << rm.describe();
    EXPECT_EQ(user_mounts(), std::vector<std::string>{});
}

TEST_F(RootlessEngine, KilledMonitorThenPsAndRmStayConsistent) {
    auto r = berth({"run", "-d", "--name", "orphan", "-p", std::to_string(free_port()) + ":80",
                    image_, "sleep", "1000"});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    auto j = inspect("orphan");
    ASSERT_TRUE(j.is_object());
    const auto monitor = j["MonitorPid"].get<int64_t>();
    ASSERT_GT(monitor, 0);
    ASSERT_EQ(::kill(static_cast<pid_t>(monitor), SIGKILL), 0);
    // slirp4netns goes with its monitor; the container itself still runs.
    EXPECT_TRUE(eventually([&] {
        for (const auto& [pid, comm] : processes_of(uid_, 1))
            if (comm == "slirp4netns" || comm == "berth-monitor") return false;
        return true;
    })) << ::testing::PrintToString(helpers_running());
    auto state = inspect("orphan");
    ASSERT_TRUE(state.is_object());
    EXPECT_EQ(state["State"]["Status"], "running") << state.dump();
    bool sleeping = false;
    for (const auto& [pid, comm] : processes_of(uid_, 1))
        sleeping = sleeping || comm == "sleep";
    EXPECT_TRUE(sleeping);
    auto ps = berth({"ps", "-q"});
    EXPECT_EQ(lines_of(ps.out).size(), 1U) << ps.describe();

    auto rm = berth({"rm", "-f", "orphan"});
    EXPECT_EQ(rm.exit_code, 0) << rm.describe();
    EXPECT_EQ(berth({"ps", "-aq"}).out, "");
    EXPECT_EQ(user_mounts(), std::vector<std::string>{});
    EXPECT_TRUE(eventually([&] {
        for (const auto& [pid, comm] : processes_of(uid_, 1))
            if (comm != "berth-pause") return false;
        return true;
    })) << ::testing::PrintToString(helpers_running());
    EXPECT_EQ(run_directory_leftovers(), std::vector<std::string>{});
}

// berth build by the unprivileged user: RUN as uid 0 inside the user namespace, COPY, files
// owned by the user's subordinate ids on the host, and an image that runs.
TEST_F(RootlessEngine, BuildsAnImageThatRuns) {
    const std::string ctx = home() + "/ctx";
    fs::create_directory(ctx);
    std::ofstream(ctx + "/Containerfile")
        << "FROM localhost/busybox\n"
           "COPY --chown=1000:1001 file.txt /copied.txt\n"
           "RUN id -u > /uid && echo made > /made && chown 4242:4242 /made\n"
           "CMD [\"sh\", \"-c\", \"cat /uid /made /copied.txt\"]\n";
    std::ofstream(ctx + "/file.txt") << "from the context\n";
    ASSERT_EQ(run_command({"chown", "-R", std::to_string(uid_) + ":" + std::to_string(gid_), ctx})
                  .exit_code,
              0);
    auto built = berth({"build", "--progress", "plain", "-t", "localhost/rootless-built", ctx});
    ASSERT_EQ(built.exit_code, 0) << built.describe();
    auto out = berth({"run", "--rm", "localhost/rootless-built"});
    ASSERT_EQ(out.exit_code, 0) << out.describe();
    EXPECT_EQ(out.out, "0\nmade\nfrom the context\n");
    auto owners = berth(
        {"run", "--rm", "localhost/rootless-built", "stat", "-c", "%u:%g", "/made", "/copied.txt"});
    EXPECT_EQ(owners.out, "4242:4242\n1000:1001\n") << owners.describe();
    // On the host, the layer's files belong to the user's subordinate ids.
    bool found = false;
    for (auto it = fs::recursive_directory_iterator(storage() + "/snapshots"); it != fs::end(it);
         ++it) {
        if (it->path().filename() != "made" || !it->is_regular_file()) continue;
        struct stat st {};
        ASSERT_EQ(::lstat(it->path().c_str(), &st), 0);
        EXPECT_EQ(st.st_uid, sub_start_ + 4242 - 1) << it->path();
        found = true;
    }
    EXPECT_TRUE(found) << "no snapshot holds /made";
    // The layer blob (what a push or save carries) holds the container's ids, not the host's.
    auto saved = berth({"save", "-o", home() + "/built.tar", "localhost/rootless-built"});
    ASSERT_EQ(saved.exit_code, 0) << saved.describe();
    auto listing = run_command(
        {"sh", "-c",
         "mkdir -p \"$1/x\" && tar -xf \"$1/built.tar\" -C \"$1/x\" && find \"$1/x\" -type f "
         "-exec tar --numeric-owner -tvf {} \\; 2>/dev/null",
         "sh", home()});
    EXPECT_NE(listing.out.find("4242/4242"), std::string::npos) << listing.out;
    EXPECT_NE(listing.out.find("1000/1001"), std::string::npos) << listing.out;
    auto again = berth({"build", "--progress", "plain", "-t", "localhost/rootless-built", ctx});
    ASSERT_EQ(again.exit_code, 0) << again.describe();
    EXPECT_NE(again.err.find("CACHED"), std::string::npos) << again.err;
    EXPECT_EQ(user_mounts(), std::vector<std::string>{});
}

}  // namespace
