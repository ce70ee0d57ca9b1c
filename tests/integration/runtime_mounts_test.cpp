// Root filesystem and mounts: bind/rbind with read-only and propagation options, tmpfs,
// masked and read-only paths, readonly root, devices, no-pivot, and mount targets that a
// symlink in the rootfs tries to redirect onto the host.
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <filesystem>
#include <fstream>

#include "support/fixture.hpp"

namespace fs = std::filesystem;
using namespace berth::test;
using nlohmann::json;

namespace {

CommandResult run_bundle(Bundle& bundle, const std::vector<std::string>& extra = {}) {
    Runtime runtime;
    std::string id = unique_id("mnt");
    ContainerGuard guard(runtime, id);
    bundle.write();
    std::vector<std::string> args{"run", "--bundle", bundle.path()};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(id);
    auto r = runtime(args);
    EXPECT_TRUE(mounts_under(bundle.rootfs()).empty()) << "mount left behind";
    return r;
}

}  // namespace

TEST(Mounts, BindMountsReadOnlyAndReadWrite) {
    TempDir data;
    std::ofstream(data.path() + "/file") << "from-host\n";
    fs::create_directories(data.path() + "/sub");
    Bundle bundle({"sh", "-c",
                   "cat /ro/file; echo x > /ro/new 2>/dev/null || echo ro-refused; echo y > "
                   "/rw/new && echo rw-ok; cat /single"});
    bundle.config()["mounts"].push_back({{"destination", "/ro"},
                                         {"type", "bind"},
                                         {"source", data.path()},
                                         {"options", {"rbind", "ro", "nosuid", "nodev"}}});
    bundle.config()["mounts"].push_back({{"destination", "/rw"},
                                         {"type", "none"},
                                         {"source", data.path() + "/sub"},
                                         {"options", {"bind", "rw"}}});
    bundle.config()["mounts"].push_back({{"destination", "/single"},
                                         {"type", "bind"},
                                         {"source", data.path() + "/file"},
                                         {"options", {"bind", "ro"}}});
    auto r = run_bundle(bundle);
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out, "from-host\nro-refused\nrw-ok\nfrom-host\n");
    EXPECT_TRUE(fs::exists(data.path() + "/sub/new"));
    EXPECT_FALSE(fs::exists(data.path() + "/new"));
}

TEST(Mounts, RecursiveReadOnlyReachesSubmounts) {
    TempDir outer;
    fs::create_directories(outer.path() + "/inner");
    ASSERT_EQ(::mount("tmpfs", (outer.path() + "/inner").c_str(), "tmpfs", 0, "size=1m"), 0);
    Bundle bundle(
        {"sh", "-c", "touch /data/inner/f 2>/dev/null && echo writable || echo read-only"});
    bundle.config()["mounts"].push_back({{"destination", "/data"},
                                         {"type", "bind"},
                                         {"source", outer.path()},
                                         {"options", {"rbind", "rro"}}});
    auto r = run_bundle(bundle);
    ::umount2((outer.path() + "/inner").c_str(), MNT_DETACH);
    EXPECT_EQ(r.out, "read-only\n") << r.describe();
}

TEST(Mounts, TmpfsWithOptionsAndTmpcopyup) {
    Bundle bundle(
        {"sh", "-c",
         "stat -c %a /scratch; grep ' /scratch ' /proc/mounts | cut -d' ' -f3,4; cat /etc/copied"});
    fs::create_directories(bundle.rootfs() + "/etc");
    std::ofstream(bundle.rootfs() + "/etc/copied") << "kept\n";
    bundle.config()["mounts"].push_back({{"destination", "/scratch"},
                                         {"type", "tmpfs"},
                                         {"source", "tmpfs"},
                                         {"options", {"mode=1777", "size=1m", "noexec"}}});
    bundle.config()["mounts"].push_back({{"destination", "/etc"},
                                         {"type", "tmpfs"},
                                         {"source", "tmpfs"},
                                         {"options", {"tmpcopyup"}}});
    auto r = run_bundle(bundle);
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "1777");
    EXPECT_NE(r.out.find("noexec"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("kept"), std::string::npos) << r.out;
}

TEST(Mounts, MaskedAndReadOnlyPathsAndReadOnlyRoot) {
    Bundle bundle(
        {"sh", "-c",
         "wc -c < /etc/hostname; ls /home | wc -l; "
         "echo 1 > /proc/sys/kernel/domainname 2>/dev/null || echo proc-sys-ro; "
         "touch /newfile 2>/dev/null || echo root-ro; touch /tmp/x 2>/dev/null || echo tmp-ro"});
    ASSERT_TRUE(bundle.config()["root"]["readonly"].get<bool>());
    // A file and a directory with content, masked on top of the default list.
    std::ofstream(bundle.rootfs() + "/home/secret") << "secret\n";
    bundle.config()["linux"]["maskedPaths"].push_back("/etc/hostname");
    bundle.config()["linux"]["maskedPaths"].push_back("/home");
    auto r = run_bundle(bundle);
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out, "0\n0\nproc-sys-ro\nroot-ro\ntmp-ro\n");
}

TEST(Mounts, DefaultAndConfiguredDevices) {
    Bundle bundle(
        {"sh", "-c",
         "for d in null zero full random urandom tty fuse; do stat -c '%n %t:%T %a' /dev/$d; done; "
         "readlink /dev/ptmx; readlink /dev/fd; readlink /dev/stdin; head -c 4 /dev/zero | wc -c; "
         "echo hi > /dev/full 2>/dev/null || echo full-refused"});
    bundle.config()["linux"]["devices"] = {{{"path", "/dev/fuse"},
                                            {"type", "c"},
                                            {"major", 10},
                                            {"minor", 229},
                                            {"fileMode", 0600},
                                            {"uid", 0},
                                            {"gid", 0}}};
    auto r = run_bundle(bundle);
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out,
              "/dev/null 1:3 666\n/dev/zero 1:5 666\n/dev/full 1:7 666\n/dev/random 1:8 666\n"
              "/dev/urandom 1:9 666\n/dev/tty 5:0 666\n/dev/fuse a:e5 600\n"
              "pts/ptmx\n/proc/self/fd\n/proc/self/fd/0\n4\nfull-refused\n");
}

TEST(Mounts, DeviceCgroupDeniesWhatIsNotAllowed) {
    Bundle bundle(
        {"sh", "-c",
         "head -c 1 /dev/fuse 2>&1 | grep -q 'not permitted' && echo denied || echo opened"});
    // The node exists (linux.devices) but no cgroup rule allows it.
    bundle.config()["linux"]["devices"] = {
        {{"path", "/dev/fuse"}, {"type", "c"}, {"major", 10}, {"minor", 229}}};
    auto r = run_bundle(bundle);
    EXPECT_EQ(r.out, "denied\n") << r.describe();
}

TEST(Mounts, SymlinkInRootfsCannotRedirectAMountOntoTheHost) {
    TempDir host_target;  // what an attacker's symlinks point at, on the host
    TempDir host_target2;
    TempDir source;
    std::ofstream(source.path() + "/payload") << "payload\n";
    Bundle bundle({"sh", "-c", "cat /evil/payload"});
    // /evil -> host_target (absolute): must resolve to rootfs/<host_target> instead.
    fs::create_symlink(host_target.path(), bundle.rootfs() + "/evil");
    bundle.config()["mounts"].push_back({{"destination", "/evil"},
                                         {"type", "bind"},
                                         {"source", source.path()},
                                         {"options", {"rbind"}}});
    // A relative symlink that climbs out of the rootfs, used as a tmpfs target.
    fs::create_symlink("../../../../../../../" + host_target2.path().substr(1),
                       bundle.rootfs() + "/climb");
    bundle.config()["mounts"].push_back(
        {{"destination", "/climb/sub"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
    auto r = run_bundle(bundle);
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out, "payload\n");
    for (const auto* target : {&host_target, &host_target2}) {
        EXPECT_TRUE(fs::is_empty(target->path())) << "a mount target escaped onto the host";
        EXPECT_TRUE(mounts_under(target->path()).empty());
    }
    EXPECT_TRUE(fs::exists(bundle.rootfs() + host_target2.path() + "/sub"))
        << "the target was resolved in the rootfs";
}

TEST(Mounts, CwdIsCreatedAndNoPivotWorks) {
    Bundle bundle(
        {"sh", "-c",
         "pwd; cat /proc/self/mountinfo | awk '$5 == \"/\" {print \"root-mounted\"; exit}'"});
    bundle.config()["process"]["cwd"] = "/work/dir";
    auto r = run_bundle(bundle, {"--no-pivot"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out, "/work/dir\nroot-mounted\n");
}

TEST(Mounts, RootfsPropagationShared) {
    Bundle bundle({"sh", "-c",
                   "grep -c shared: /proc/self/mountinfo >/dev/null && awk '$5 == \"/\" {print "
                   "$7}' /proc/self/mountinfo"});
    bundle.config()["linux"]["rootfsPropagation"] = "rshared";
    auto r = run_bundle(bundle);
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out.rfind("shared:", 0), 0u) << r.out;
}

TEST(Mounts, CgroupFilesystemShowsTheContainersCgroups) {
    Bundle bundle({"sh", "-c",
                   "ls /sys/fs/cgroup | sort | tr '\\n' ' '; cat /sys/fs/cgroup/pids/pids.max; "
                   "touch /sys/fs/cgroup/x 2>/dev/null || echo cgroupfs-ro"});
    bundle.config()["linux"]["resources"]["pids"] = {{"limit", 77}};
    auto r = run_bundle(bundle);
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_NE(r.out.find("memory"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(" 77\n"), std::string::npos)
        << "the container sees its own pids limit: " << r.out;
    EXPECT_NE(r.out.find("cgroupfs-ro"), std::string::npos) << r.out;
}
