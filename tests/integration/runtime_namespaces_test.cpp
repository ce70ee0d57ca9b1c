// Namespaces: new ones of every kind, joining existing ones by path, user namespaces with
// id mappings, time namespace offsets.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/fixture.hpp"

namespace fs = std::filesystem;
using namespace berth::test;
using nlohmann::json;

namespace {

ino_t ns_inode(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

std::string self_ns(const char* name) {
    return std::to_string(ns_inode(std::string("/proc/self/ns/") + name));
}

}  // namespace

TEST(Namespaces, EveryNewNamespaceDiffersFromTheHost) {
    Bundle bundle({"sh", "-c",
                   "for n in pid net ipc uts mnt cgroup time; do stat -L -c %i /proc/self/ns/$n; "
                   "done; echo $$"});
    bundle.config()["linux"]["namespaces"].push_back({{"type", "cgroup"}});
    bundle.config()["linux"]["namespaces"].push_back({{"type", "time"}});
    std::string out = run_output(bundle);
    std::istringstream lines(out);
    for (const char* n : {"pid", "net", "ipc", "uts", "mnt", "cgroup", "time"}) {
        std::string inode;
        std::getline(lines, inode);
        EXPECT_NE(inode, self_ns(n)) << n << " namespace is the host's";
    }
    std::string pid;
    std::getline(lines, pid);
    EXPECT_EQ(pid, "1") << "the process is pid 1 of its pid namespace";
}

TEST(Namespaces, MissingTypesAreInheritedFromTheRuntime) {
    Bundle bundle({"sh", "-c", "stat -L -c %i /proc/self/ns/net; stat -L -c %i /proc/self/ns/uts"});
    auto& nss = bundle.config()["linux"]["namespaces"];
    json kept = json::array();
    for (auto& ns : nss)
        if (ns["type"] != "network" && ns["type"] != "uts") kept.push_back(ns);
    nss = kept;
    bundle.config().erase("hostname");
    EXPECT_EQ(run_output(bundle), self_ns("net") + "\n" + self_ns("uts") + "\n");
}

TEST(Namespaces, NetworkNamespaceHasOnlyLoopback) {
    Bundle bundle({"sh", "-c", "ls /sys/class/net | tr '\\n' ' '; cat /sys/class/net/lo/flags"});
    // Down, as runc leaves it (IFF_UP is 0x1)...
    EXPECT_EQ(run_output(bundle), "lo 0x8\n");
    // ...unless the engine asks for it up.
    bundle.config()["annotations"]["io.berth.network.loopback"] = "up";
    std::string out = run_output(bundle);
    ASSERT_EQ(out.substr(0, 3), "lo ") << out;
    EXPECT_EQ(std::stoul(out.substr(3), nullptr, 16) & 0x1, 1U) << out;
}

TEST(Namespaces, JoinsExistingNamespacesByPath) {
    // A helper process in fresh net, uts and ipc namespaces stands for a pod's sandbox.
    BackgroundCommand holder({"unshare", "--net", "--uts", "--ipc", "sleep", "300"});
    std::string base = "/proc/" + std::to_string(holder.pid()) + "/ns/";
    ASSERT_TRUE(
        eventually([&] { return ns_inode(base + "net") != ns_inode("/proc/self/ns/net"); }));
    Bundle bundle(
        {"sh", "-c", "stat -L -c %i /proc/self/ns/net /proc/self/ns/uts /proc/self/ns/ipc"});
    for (auto& ns : bundle.config()["linux"]["namespaces"]) {
        if (ns["type"] == "network") ns["path"] = base + "net";
        if (ns["type"] == "uts") ns["path"] = base + "uts";
        if (ns["type"] == "ipc") ns["path"] = base + "ipc";
    }
    bundle.config().erase("hostname");
    std::string expected = std::to_string(ns_inode(base + "net")) + "\n" +
                           std::to_string(ns_inode(base + "uts")) + "\n" +
                           std::to_string(ns_inode(base + "ipc")) + "\n";
    EXPECT_EQ(run_output(bundle), expected);
}

TEST(Namespaces, JoinsAnotherContainersPidNamespace) {
    Runtime runtime;
    Bundle first({"sleep", "300"});
    std::string id = unique_id("pidns");
    ContainerGuard guard(runtime, id);
    ASSERT_EQ(runtime({"run", "-d", "--bundle", first.path(), id}).exit_code, 0);
    int pid = runtime.state(id)["pid"];
    Bundle second({"sh", "-c", "cat /proc/1/comm; stat -L -c %i /proc/self/ns/pid"});
    for (auto& ns : second.config()["linux"]["namespaces"])
        if (ns["type"] == "pid") ns["path"] = "/proc/" + std::to_string(pid) + "/ns/pid";
    std::string out = run_output(second);
    EXPECT_EQ(out, "sleep\n" +
                       std::to_string(ns_inode("/proc/" + std::to_string(pid) + "/ns/pid")) + "\n");
}

TEST(Namespaces, WrongNamespaceTypeAtPathIsRejected) {
    Runtime runtime;
    Bundle bundle;
    for (auto& ns : bundle.config()["linux"]["namespaces"])
        if (ns["type"] == "network") ns["path"] = "/proc/self/ns/uts";
    bundle.write();
    std::string id = unique_id("nstype");
    ContainerGuard guard(runtime, id);
    auto r = runtime({"run", "--bundle", bundle.path(), id});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("/proc/self/ns/uts is not a network namespace"), std::string::npos)
        << r.err;
    EXPECT_FALSE(fs::exists(runtime.state_root() + "/" + id));
}

TEST(Namespaces, UserNamespaceWithIdRanges) {
    Bundle bundle({"sh", "-c",
                   "id -u; cat /proc/self/uid_map /proc/self/gid_map | tr -s ' '; touch /tmp/f; "
                   "stat -c %u /tmp/f"});
    bundle.config()["linux"]["namespaces"].push_back({{"type", "user"}});
    bundle.config()["linux"]["uidMappings"] = {
        {{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
    bundle.config()["linux"]["gidMappings"] = {
        {{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
    bundle.config()["root"]["readonly"] = false;
    // The rootfs must belong to the mapped root for the container to write to it.
    ASSERT_EQ(run_command({"chown", "-R", "100000:100000", bundle.rootfs()}).exit_code, 0);
    // ... and the mapped root must be able to reach it through the bundle directory.
    ASSERT_EQ(::chmod(bundle.path().c_str(), 0755), 0);
    // The user namespace cannot mount sysfs for a host network namespace; ours is new.
    std::string out = run_output(bundle);
    EXPECT_EQ(out, "0\n 0 100000 65536\n 0 100000 65536\n0\n");
    struct stat st {};
    ASSERT_EQ(::stat((bundle.rootfs() + "/tmp/f").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 100000u) << "container root is host uid 100000";
}

TEST(Namespaces, TimeNamespaceOffsets) {
    Bundle bundle({"cut", "-d.", "-f1", "/proc/uptime"});
    bundle.config()["linux"]["namespaces"].push_back({{"type", "time"}});
    bundle.config()["linux"]["timeOffsets"] = {{"boottime", {{"secs", 86400 * 365}}}};
    std::string out = run_output(bundle);
    std::ifstream host("/proc/uptime");
    double host_uptime = 0;
    host >> host_uptime;
    long container_uptime = std::stol(out);
    EXPECT_GE(container_uptime, static_cast<long>(host_uptime) + 86400L * 365 - 5) << out;
}

TEST(Namespaces, CgroupNamespaceShowsTheContainerAsRoot) {
    Bundle bundle({"cat", "/proc/self/cgroup"});
    bundle.config()["linux"]["namespaces"].push_back({{"type", "cgroup"}});
    std::string out = run_output(bundle);
    // Every hierarchy shows "/" as the process's own cgroup.
    std::istringstream lines(out);
    std::string line;
    int count = 0;
    while (std::getline(lines, line)) {
        ++count;
        EXPECT_EQ(line.substr(line.rfind(':') + 1), "/") << line;
    }
    EXPECT_GT(count, 0);
}
