#include <gtest/gtest.h>

#include "runtime/cgroup/layout.hpp"

using namespace berth::runtime::cgroup;

namespace {

// This machine: v1 controllers each on their own mount, plus a cgroup2 hierarchy at
// /sys/fs/cgroup/unified whose root offers only hugetlb.
const char* kHybridMountinfo =
    "22 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
const char* kHybridProcCgroup =
    "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n"
    "4:memory:/process_api/d627e27ed342905bd647aa8686847196\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/"
    "\n";

// A classic systemd v1 host: co-mounted controllers, optional fields, no cgroup2.
const char* kV1Mountinfo =
    "25 30 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
    "26 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup "
    "rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd\n"
    "29 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup "
    "cgroup "
    "rw,cpu,cpuacct\n"
    "30 25 0:28 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup "
    "rw,memory\n"
    "31 25 0:29 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:15 - "
    "cgroup cgroup "
    "rw,net_cls,net_prio\n"
    "32 25 0:30 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup "
    "rw,pids\n"
    "33 25 0:31 / /sys/fs/cgroup/hugetlb rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup "
    "rw,hugetlb\n"
    "34 25 0:32 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup "
    "rw,cpuset,clone_children\n"
    "35 25 0:33 / /sys/fs/cgroup/devices rw,nosuid,nodev,noexec,relatime shared:19 - cgroup cgroup "
    "rw,devices\n"
    "36 25 0:34 / /sys/fs/cgroup/freezer rw,nosuid,nodev,noexec,relatime shared:20 - cgroup cgroup "
    "rw,freezer\n"
    "37 25 0:35 / /sys/fs/cgroup/blkio rw,nosuid,nodev,noexec,relatime shared:21 - cgroup cgroup "
    "rw,blkio\n"
    "38 25 0:36 / /sys/fs/cgroup/perf_event rw,nosuid,nodev,noexec,relatime shared:22 - cgroup "
    "cgroup "
    "rw,perf_event\n"
    // A bind mount of the memory hierarchy elsewhere: the same hierarchy, skipped.
    "90 22 0:28 /user.slice /mnt/mem rw,relatime - cgroup cgroup rw,memory\n";
const char* kV1ProcCgroup =
    "12:perf_event:/\n11:blkio:/user.slice\n10:freezer:/\n9:devices:/user.slice\n8:cpuset:/"
    "\n7:hugetlb:/\n"
    "6:pids:/user.slice/user-1000.slice/session-2.scope\n5:net_cls,net_prio:/\n4:memory:/"
    "user.slice\n"
    "3:cpu,cpuacct:/user.slice\n1:name=systemd:/user.slice/user-1000.slice/session-2.scope\n";

const char* kV2Mountinfo =
    "25 30 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";
const char* kV2ProcCgroup = "0::/user.slice/user-1000.slice/session-3.scope\n";

Layout layout_of(const char* mountinfo, const char* proc, const char* controllers) {
    return build_layout(parse_mountinfo(mountinfo), parse_proc_cgroup(proc), controllers);
}

const Hierarchy& hierarchy_of(const Layout& l, const Owners& owners, Controller c) {
    auto o = owners[static_cast<size_t>(c)];
    EXPECT_TRUE(o.has_value()) << controller_name(c);
    return l.hierarchies.at(o.value_or(0));
}

}  // namespace

TEST(CgroupLayout, ParsesMountinfoLinesOfCgroupFilesystemsOnly) {
    auto mounts = parse_mountinfo(kHybridMountinfo);
    ASSERT_EQ(mounts.size(), 10u);
    EXPECT_EQ(mounts[0].mountpoint, "/sys/fs/cgroup/cpu");
    EXPECT_EQ(mounts[0].fstype, "cgroup");
    EXPECT_EQ(mounts[0].super_options, "rw,cpu");
    EXPECT_EQ(mounts[0].root, "/");
    EXPECT_EQ(mounts[9].fstype, "cgroup2");
    EXPECT_EQ(mounts[9].mountpoint, "/sys/fs/cgroup/unified");
}

TEST(CgroupLayout, DecodesOctalEscapesInMountpoints) {
    auto mounts = parse_mountinfo("40 31 0:37 / /mnt/my\\040cgroups rw - cgroup2 cgroup2 rw\n");
    ASSERT_EQ(mounts.size(), 1u);
    EXPECT_EQ(mounts[0].mountpoint, "/mnt/my cgroups");
}

TEST(CgroupLayout, ParsesProcSelfCgroup) {
    auto entries = parse_proc_cgroup(kHybridProcCgroup);
    ASSERT_EQ(entries.size(), 10u);
    EXPECT_EQ(entries[0].controllers, "name=systemd");
    EXPECT_EQ(entries[5].controllers, "memory");
    EXPECT_EQ(entries[5].path, "/process_api/d627e27ed342905bd647aa8686847196");
    EXPECT_EQ(entries[9].controllers, "");
    EXPECT_EQ(entries[9].path, "/");
}

TEST(CgroupLayout, HybridHostPutsEachControllerWhereItLives) {
    Layout l = layout_of(kHybridMountinfo, kHybridProcCgroup, "hugetlb\n");
    EXPECT_EQ(l.mode, Mode::hybrid);
    ASSERT_EQ(l.hierarchies.size(), 10u);
    EXPECT_EQ(l.v2_controllers, std::vector<std::string>{"hugetlb"});
    Owners owners = locate_controllers(l);
    EXPECT_EQ(hierarchy_of(l, owners, Controller::cpu).mountpoint, "/sys/fs/cgroup/cpu");
    EXPECT_EQ(hierarchy_of(l, owners, Controller::cpuacct).mountpoint, "/sys/fs/cgroup/cpuacct");
    EXPECT_EQ(hierarchy_of(l, owners, Controller::memory).current,
              "/process_api/d627e27ed342905bd647aa8686847196");
    EXPECT_EQ(hierarchy_of(l, owners, Controller::devices).mountpoint, "/sys/fs/cgroup/devices");
    EXPECT_EQ(hierarchy_of(l, owners, Controller::freezer).mountpoint, "/sys/fs/cgroup/freezer");
    EXPECT_TRUE(hierarchy_of(l, owners, Controller::hugetlb).unified);
    EXPECT_EQ(hierarchy_of(l, owners, Controller::hugetlb).mountpoint, "/sys/fs/cgroup/unified");
    EXPECT_FALSE(owners[static_cast<size_t>(Controller::net_cls)].has_value());
    EXPECT_FALSE(owners[static_cast<size_t>(Controller::net_prio)].has_value());
    // name=systemd is a hierarchy of its own (for placement), owning no controller.
    bool systemd = false;
    for (const auto& h : l.hierarchies)
        systemd = systemd || h.controllers == "name=systemd";
    EXPECT_TRUE(systemd);
}

TEST(CgroupLayout, HybridHostWithMovedControllerUsesCgroup2ForIt) {
    // The cpu hierarchy unmounted: cpu appears in the unified root.
    std::string mountinfo = kHybridMountinfo;
    mountinfo.erase(mountinfo.find("32 31 0:29"),
                    mountinfo.find("33 31") - mountinfo.find("32 31 0:29"));
    Layout l = layout_of(mountinfo.c_str(), kHybridProcCgroup, "cpu hugetlb");
    Owners owners = locate_controllers(l);
    EXPECT_TRUE(hierarchy_of(l, owners, Controller::cpu).unified);
    EXPECT_FALSE(hierarchy_of(l, owners, Controller::cpuacct).unified);
}

TEST(CgroupLayout, V1HostWithCoMountedControllers) {
    Layout l = layout_of(kV1Mountinfo, kV1ProcCgroup, "");
    EXPECT_EQ(l.mode, Mode::v1);
    EXPECT_TRUE(l.v2_controllers.empty());
    ASSERT_EQ(l.hierarchies.size(), 11u);  // the bind mount of memory is not a hierarchy of its own
    Owners owners = locate_controllers(l);
    const auto& cpu = hierarchy_of(l, owners, Controller::cpu);
    EXPECT_EQ(cpu.controllers, "cpu,cpuacct");
    EXPECT_EQ(&cpu, &hierarchy_of(l, owners, Controller::cpuacct));
    EXPECT_EQ(cpu.current, "/user.slice");
    EXPECT_EQ(hierarchy_of(l, owners, Controller::net_prio).controllers, "net_cls,net_prio");
    EXPECT_EQ(hierarchy_of(l, owners, Controller::cpuset).controllers,
              "cpuset");  // not "clone_children"
    EXPECT_EQ(hierarchy_of(l, owners, Controller::hugetlb).mountpoint, "/sys/fs/cgroup/hugetlb");
    EXPECT_EQ(hierarchy_of(l, owners, Controller::pids).current,
              "/user.slice/user-1000.slice/session-2.scope");
    bool perf = false;
    for (const auto& h : l.hierarchies)
        perf = perf || h.controllers == "perf_event";
    EXPECT_TRUE(perf);
}

TEST(CgroupLayout, PureV2HostHasEverythingInOneHierarchy) {
    Layout l =
        layout_of(kV2Mountinfo, kV2ProcCgroup, "cpuset cpu io memory hugetlb pids rdma misc\n");
    EXPECT_EQ(l.mode, Mode::v2);
    ASSERT_EQ(l.hierarchies.size(), 1u);
    EXPECT_TRUE(l.hierarchies[0].unified);
    EXPECT_EQ(l.hierarchies[0].current, "/user.slice/user-1000.slice/session-3.scope");
    Owners owners = locate_controllers(l);
    for (Controller c : {Controller::cpu, Controller::cpuacct, Controller::cpuset,
                         Controller::memory, Controller::pids, Controller::blkio,
                         Controller::hugetlb, Controller::devices, Controller::freezer})
        EXPECT_EQ(owners[static_cast<size_t>(c)], std::optional<size_t>(0)) << controller_name(c);
    EXPECT_FALSE(owners[static_cast<size_t>(Controller::net_cls)].has_value());
}

TEST(CgroupLayout, V2ControllerMissingFromRootIsAbsent) {
    Layout l = layout_of(kV2Mountinfo, kV2ProcCgroup, "cpu memory pids");
    Owners owners = locate_controllers(l);
    EXPECT_FALSE(owners[static_cast<size_t>(Controller::hugetlb)].has_value());
    EXPECT_FALSE(owners[static_cast<size_t>(Controller::blkio)].has_value());
    EXPECT_TRUE(owners[static_cast<size_t>(Controller::freezer)].has_value());  // core feature
}

TEST(CgroupLayout, DetectOnThisMachineFindsAHierarchy) {
    Layout l = Layout::detect();
    EXPECT_FALSE(l.hierarchies.empty());
    for (const auto& h : l.hierarchies) {
        EXPECT_FALSE(h.mountpoint.empty());
        EXPECT_EQ(h.current.front(), '/');
    }
}
