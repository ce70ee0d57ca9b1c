// The manager and the v1/v2 writers against fake cgroup trees in a temporary directory:
// regular files stand in for the cgroup files, so every write leaves the last value.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/cgroup/layout.hpp"
#include "runtime/cgroup/manager.hpp"

namespace fs = std::filesystem;
using namespace berth::runtime::cgroup;

namespace {

class FakeTree : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-cgroup-fake-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        root = tmpl;
    }
    void TearDown() override { fs::remove_all(root); }

    void put(const std::string& path, const std::string& content = "") const {
        fs::create_directories(fs::path(path).parent_path());
        std::ofstream(path) << content;
    }
    static std::string get(const std::string& path) {
        std::ifstream in(path);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }

    // A v2 hierarchy at root/unified whose container directory already exists with files.
    Layout v2_layout() const {
        Layout l;
        l.mode = Mode::v2;
        Hierarchy h;
        h.unified = true;
        h.mountpoint = root + "/unified";
        l.hierarchies.push_back(h);
        l.v2_controllers = {"cpuset", "cpu", "io", "memory", "hugetlb", "pids"};
        return l;
    }

    Layout v1_layout() const {
        Layout l;
        l.mode = Mode::v1;
        for (const char* c : {"cpu", "cpuacct", "cpuset", "memory", "pids", "blkio", "hugetlb",
                              "net_cls,net_prio", "devices", "freezer", "name=systemd"}) {
            Hierarchy h;
            h.controllers = c;
            h.mountpoint = root + "/" + c;
            l.hierarchies.push_back(h);
        }
        return l;
    }

    static Options options(const std::string& path) {
        Options o;
        o.cgroups_path = path;
        o.container_id = "ctr";
        return o;
    }

    static berth::oci::Resources resources(const char* json) {
        return berth::oci::parse_resources(nlohmann::json::parse(json));
    }

    std::string root;
};

}  // namespace

TEST_F(FakeTree, V2WritersConvertValues) {
    const std::string d = root + "/unified/berth-test";
    put(root + "/unified/cgroup.subtree_control");
    for (const char* f : {"cpu.weight", "cpu.max.burst", "cpu.idle", "cpuset.cpus", "cpuset.mems",
                          "memory.max", "memory.swap.max", "memory.low", "pids.max", "io.max",
                          "hugetlb.2MB.max", "hugetlb.2MB.rsvd.max", "memory.high"})
        put(d + "/" + f);
    put(d + "/cpu.max", "max 100000\n");
    put(d + "/io.bfq.weight", "default 100\n");

    auto m = Manager::open(options("/berth-test"), v2_layout());
    m->create();
    EXPECT_EQ(get(root + "/unified/cgroup.subtree_control"),
              "+cpu +cpuset +memory +pids +io +hugetlb");
    m->apply(resources(R"({
        "cpu": {"shares": 1024, "quota": 50000, "period": 200000, "burst": 10000, "idle": 1,
                "cpus": "0-1", "mems": "0"},
        "memory": {"limit": 67108864, "swap": 134217728, "reservation": 33554432},
        "pids": {"limit": 42},
        "blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
        "unified": {"memory.high": "50000000"}
    })"));
    EXPECT_EQ(get(d + "/cpu.weight"), "100");
    EXPECT_EQ(get(d + "/cpu.max"), "50000 200000");
    EXPECT_EQ(get(d + "/cpu.max.burst"), "10000");
    EXPECT_EQ(get(d + "/cpu.idle"), "1");
    EXPECT_EQ(get(d + "/cpuset.cpus"), "0-1");
    EXPECT_EQ(get(d + "/cpuset.mems"), "0");
    EXPECT_EQ(get(d + "/memory.max"), "67108864");
    EXPECT_EQ(get(d + "/memory.swap.max"), "67108864");
    EXPECT_EQ(get(d + "/memory.low"), "33554432");
    EXPECT_EQ(get(d + "/pids.max"), "42");
    EXPECT_EQ(get(d + "/io.bfq.weight"), "500");
    EXPECT_EQ(get(d + "/io.max"), "8:0 rbps=1048576");
    EXPECT_EQ(get(d + "/hugetlb.2MB.max"), "4194304");
    EXPECT_EQ(get(d + "/hugetlb.2MB.rsvd.max"), "4194304");
    EXPECT_EQ(get(d + "/memory.high"), "50000000");
}

TEST_F(FakeTree, V2UnlimitedValuesAndPeriodOnlyUpdate) {
    const std::string d = root + "/unified/c";
    for (const char* f : {"memory.max", "memory.swap.max", "pids.max", "io.weight"})
        put(d + "/" + f);
    put(d + "/cpu.max", "30000 100000\n");
    auto m = Manager::open(options("/c"), v2_layout());
    m->create();
    m->update(
        resources(R"({"memory": {"limit": -1}, "pids": {"limit": -1}, "cpu": {"period": 50000},
                            "blockIO": {"weight": 1000}})"));
    EXPECT_EQ(get(d + "/memory.max"), "max");
    EXPECT_EQ(get(d + "/memory.swap.max"), "max");
    EXPECT_EQ(get(d + "/pids.max"), "max");
    EXPECT_EQ(get(d + "/cpu.max"), "30000 50000");  // the quota is kept
    EXPECT_EQ(get(d + "/io.weight"), "10000");      // no BFQ: io.weight in its own range
}

TEST_F(FakeTree, V2MissingFileNamesSettingAndController) {
    put(root + "/unified/c/.keep");
    auto m = Manager::open(options("/c"), v2_layout());
    m->create();
    try {
        m->apply(resources(R"({"pids": {"limit": 10}})"));
        FAIL() << "no error";
    } catch (const berth::SystemError& e) {
        std::string msg = e.what();
        EXPECT_EQ(msg.rfind("linux.resources.pids: cannot write \"10\" to ", 0), 0u) << msg;
        EXPECT_NE(msg.find("pids.max: No such file or directory"), std::string::npos) << msg;
        EXPECT_NE(msg.find("the pids controller is not enabled"), std::string::npos) << msg;
        EXPECT_EQ(msg.find('\n'), std::string::npos);
    }
}

TEST_F(FakeTree, AbsentControllerIsAnErrorNamingTheSetting) {
    Layout l = v2_layout();
    l.v2_controllers = {"cpu", "memory"};
    put(root + "/unified/c/.keep");
    auto m = Manager::open(options("/c"), l);
    m->create();
    try {
        m->apply(resources(R"({"hugepageLimits": [{"pageSize": "2MB", "limit": 0}]})"));
        FAIL() << "no error";
    } catch (const berth::Error& e) {
        EXPECT_STREQ(
            e.what(),
            "linux.resources.hugepageLimits: the hugetlb controller is not available on this host");
    }
    EXPECT_THROW(m->apply(resources(R"({"unified": {"pids.max": "3"}})")), berth::Error);
    // Settings that are not there need nothing.
    m->apply(resources(R"({"memory": {}, "cpu": {}})"));
}

TEST_F(FakeTree, V1WritersAndTheUnifiedKeyIsRefused) {
    auto m = Manager::open(options("/berth-test"), v1_layout());
    const std::string c = "/berth-test/";
    for (const char* f : {"cpu/cpu.shares",
                          "cpu/cpu.cfs_period_us",
                          "cpu/cpu.cfs_quota_us",
                          "cpu/cpu.cfs_burst_us",
                          "cpu/cpu.rt_period_us",
                          "cpu/cpu.rt_runtime_us",
                          "cpuset/cpuset.cpus",
                          "cpuset/cpuset.mems",
                          "memory/memory.memsw.limit_in_bytes",
                          "memory/memory.soft_limit_in_bytes",
                          "memory/memory.swappiness",
                          "memory/memory.oom_control",
                          "memory/memory.kmem.limit_in_bytes",
                          "pids/pids.max",
                          "blkio/blkio.bfq.weight",
                          "blkio/blkio.throttle.write_iops_device",
                          "hugetlb/hugetlb.2MB.limit_in_bytes",
                          "net_cls,net_prio/net_cls.classid",
                          "net_cls,net_prio/net_prio.ifpriomap",
                          "devices/devices.allow",
                          "devices/devices.deny"}) {
        std::string file = f;
        auto slash = file.find('/');
        put(root + "/" + file.substr(0, slash) + c + file.substr(slash + 1));
    }
    put(root + "/memory" + c + "memory.limit_in_bytes", "9223372036854771712\n");
    put(root + "/name=systemd" + c + ".keep");
    for (const char* h : {"cpuacct", "freezer"})
        put(root + "/" + h + c + ".keep");
    m->create();
    m->apply(resources(R"({
        "cpu": {"shares": 512, "quota": 20000, "period": 100000, "burst": 1000, "realtimeRuntime": 1000,
                "realtimePeriod": 10000, "cpus": "0", "mems": "0"},
        "memory": {"limit": 67108864, "swap": 134217728, "reservation": 1048576, "kernel": 1048576,
                   "swappiness": 10, "disableOOMKiller": true},
        "pids": {"limit": 0},
        "blockIO": {"weight": 300, "throttleWriteIOPSDevice": [{"major": 254, "minor": 0, "rate": 100}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}],
        "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 5}]},
        "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3}]
    })"));
    auto file = [&](const std::string& h, const std::string& f) {
        return get(root + "/" + h + c + f);
    };
    EXPECT_EQ(file("cpu", "cpu.cfs_period_us"), "100000");
    EXPECT_EQ(file("cpu", "cpu.cfs_quota_us"), "20000");
    EXPECT_EQ(file("cpu", "cpu.cfs_burst_us"), "1000");
    EXPECT_EQ(file("cpu", "cpu.rt_period_us"), "10000");
    EXPECT_EQ(file("cpu", "cpu.rt_runtime_us"), "1000");
    EXPECT_EQ(file("cpuset", "cpuset.cpus"), "0");
    EXPECT_EQ(file("memory", "memory.limit_in_bytes"), "67108864");
    EXPECT_EQ(file("memory", "memory.memsw.limit_in_bytes"), "134217728");
    EXPECT_EQ(file("memory", "memory.soft_limit_in_bytes"), "1048576");
    EXPECT_EQ(file("memory", "memory.kmem.limit_in_bytes"), "1048576");
    EXPECT_EQ(file("memory", "memory.swappiness"), "10");
    EXPECT_EQ(file("memory", "memory.oom_control"), "1");
    EXPECT_EQ(file("pids", "pids.max"), "1");
    EXPECT_EQ(file("blkio", "blkio.bfq.weight"), "300");
    EXPECT_EQ(file("blkio", "blkio.throttle.write_iops_device"), "254:0 100");
    EXPECT_EQ(file("hugetlb", "hugetlb.2MB.limit_in_bytes"), "2097152");
    EXPECT_EQ(file("net_cls,net_prio", "net_cls.classid"), "1048577");
    EXPECT_EQ(file("net_cls,net_prio", "net_prio.ifpriomap"), "eth0 5");
    EXPECT_EQ(file("devices", "devices.deny"), "a *:* rwm");
    EXPECT_EQ(file("devices", "devices.allow"), "c 1:3 rwm");
    // cpu.shares is read back: the fake file keeps what was written.
    EXPECT_EQ(file("cpu", "cpu.shares"), "512");

    try {
        m->apply(resources(R"({"unified": {"memory.high": "1"}})"));
        FAIL() << "no error";
    } catch (const berth::Error& e) {
        EXPECT_NE(std::string(e.what()).find("linux.resources.unified"), std::string::npos);
    }
    m->update(resources(R"({"memory": {"disableOOMKiller": false}})"));
    EXPECT_EQ(file("memory", "memory.oom_control"), "0");
}

TEST_F(FakeTree, PlacementsAndSavedStateRoundTrip) {
    for (const char* h : {"cpu", "cpuacct", "memory", "pids", "blkio", "hugetlb",
                          "net_cls,net_prio", "devices", "freezer", "name=systemd"})
        put(root + "/" + h + "/.keep");
    put(root + "/cpuset/cpuset.cpus", "0-1\n");
    put(root + "/cpuset/cpuset.mems", "0\n");
    auto m = Manager::open(options("/a/b/ctr"), v1_layout());
    // mkdir in the fake cpuset tree makes no files: create() copies the parent's values into
    // the directories it made, so give them the files the kernel would.
    for (const char* d : {"/cpuset/a", "/cpuset/a/b", "/cpuset/a/b/ctr"}) {
        fs::create_directories(root + d);
        put(root + d + "/cpuset.cpus");
        put(root + d + "/cpuset.mems");
    }
    m->create();
    auto placements = m->placements();
    ASSERT_EQ(placements.size(), 11u);
    for (const auto& p : placements) {
        EXPECT_EQ(p.path, "/a/b/ctr");
        EXPECT_TRUE(fs::is_directory(p.hierarchy.mountpoint + p.path)) << p.hierarchy.mountpoint;
    }
    EXPECT_EQ(m->mode(), Mode::v1);

    auto saved = m->to_json();
    auto again = Manager::from_json(nlohmann::json::parse(saved.dump()));
    EXPECT_EQ(again->to_json(), saved);
    EXPECT_EQ(again->placements().size(), 11u);
    EXPECT_THROW(Manager::from_json(nlohmann::json::parse(R"({"mode": "v3"})")), berth::Error);
    EXPECT_THROW(Manager::from_json(
                     nlohmann::json::parse(R"({"mode": "v1", "hierarchies": [{}], "owners": {}})")),
                 berth::Error);
}

TEST_F(FakeTree, CreateRollsBackWhatItMadeOnFailure) {
    Layout l = v1_layout();
    l.hierarchies.resize(3);  // cpu, cpuacct, cpuset
    for (const auto& h : l.hierarchies)
        fs::create_directories(h.mountpoint);
    // The cpuset hierarchy has no cpuset.cpus to copy: create() fails there after the two
    // others have been made.
    auto m = Manager::open(options("/x/y"), l);
    EXPECT_THROW(m->create(), berth::SystemError);
    for (const auto& h : l.hierarchies)
        EXPECT_FALSE(fs::exists(h.mountpoint + "/x")) << h.mountpoint;
}

TEST_F(FakeTree, RootlessSkipsHierarchiesItCannotWrite) {
    Layout l;
    l.mode = Mode::v1;
    // cpu and devices in a place nobody can create directories (sysfs: mkdir is refused with
    // EPERM), pids in a writable one.
    for (const char* c : {"cpu", "devices", "pids"}) {
        Hierarchy h;
        h.controllers = c;
        h.mountpoint = std::string(c) == "pids" ? root + "/pids" : "/sys/kernel";
        l.hierarchies.push_back(h);
    }
    put(root + "/pids/ctr/pids.max");
    // Rootless and no cgroupsPath: a cgroup named after the container below the runtime's own.
    Options o = options("");
    o.rootless = true;
    auto m = Manager::open(o, l);
    m->create();
    auto placements = m->placements();
    ASSERT_EQ(placements.size(), 3u);
    EXPECT_TRUE(placements[0].shared) << "cpu: the container stays in the runtime's cgroup";
    EXPECT_EQ(placements[0].path, "/");
    EXPECT_TRUE(placements[1].shared);
    EXPECT_FALSE(placements[2].shared);
    EXPECT_EQ(placements[2].path, "/ctr");
    // Device rules are left out where there is no devices cgroup (as runc does rootless)...
    m->apply(
        resources(R"({"pids": {"limit": 5}, "devices": [{"allow": false, "access": "rwm"}]})"));
    EXPECT_EQ(get(root + "/pids/ctr/pids.max"), "5");
    // ... but a limit is an error naming it, as in runc.
    try {
        m->apply(resources(R"({"cpu": {"shares": 100}})"));
        ADD_FAILURE() << "a cpu limit without a cpu cgroup must fail";
    } catch (const berth::Error& e) {
        EXPECT_NE(std::string(e.what()).find("linux.resources.cpu: cannot be applied"),
                  std::string::npos)
            << e.what();
    }
    // A saved manager lists only the cgroups the container has.
    EXPECT_EQ(Manager::from_json(m->to_json())->placements().size(), 1u);

    // With a cgroupsPath (as runc), or not rootless, the same is an error.
    Options named = options("/ctr");
    named.rootless = true;
    EXPECT_THROW(Manager::open(named, l)->create(), berth::SystemError);
    EXPECT_THROW(Manager::open(options(""), l)->create(), berth::SystemError);
}
