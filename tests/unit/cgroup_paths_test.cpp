#include <gtest/gtest.h>

#include "common/error.hpp"
#include "runtime/cgroup/paths.hpp"

using namespace berth::runtime::cgroup;

namespace {

Options opts(std::string path, std::string id = "ctr", bool systemd = false) {
    Options o;
    o.cgroups_path = std::move(path);
    o.container_id = std::move(id);
    o.systemd = systemd;
    return o;
}

Hierarchy hierarchy(std::string current, std::string root = "/") {
    Hierarchy h;
    h.controllers = "memory";
    h.mountpoint = "/sys/fs/cgroup/memory";
    h.current = std::move(current);
    h.root = std::move(root);
    return h;
}

std::string error_of(const Options& o) {
    try {
        resolve_cgroups_path(o);
    } catch (const berth::Error& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

TEST(CgroupPaths, AbsolutePathIsRelativeToTheHierarchyRoot) {
    CgroupPath p = resolve_cgroups_path(opts("/machine/berth//abc/"));
    EXPECT_TRUE(p.absolute);
    EXPECT_EQ(p.path, "/machine/berth/abc");
    EXPECT_EQ(path_in_hierarchy(p, hierarchy("/user.slice")), "/machine/berth/abc");
}

TEST(CgroupPaths, AbsolutePathIgnoresTheMountedSubtreeAsRuncDoes) {
    CgroupPath p = resolve_cgroups_path(opts("/docker/abc"));
    // Never the mount's root itself, even when the mount shows exactly that subtree.
    EXPECT_EQ(path_in_hierarchy(p, hierarchy("/docker/abc", "/docker/abc")), "/docker/abc");
}

TEST(CgroupPaths, RelativePathJoinsTheRuntimesOwnCgroup) {
    CgroupPath p = resolve_cgroups_path(opts("berth/abc"));
    EXPECT_FALSE(p.absolute);
    EXPECT_EQ(p.path, "berth/abc");
    EXPECT_EQ(path_in_hierarchy(p, hierarchy("/user.slice/session-1.scope")),
              "/user.slice/session-1.scope/berth/abc");
    EXPECT_EQ(path_in_hierarchy(p, hierarchy("/")), "/berth/abc");
    // In a container without a cgroup namespace the mount shows our own subtree as its root.
    EXPECT_EQ(path_in_hierarchy(p, hierarchy("/docker/x", "/docker/x")), "/berth/abc");
    EXPECT_EQ(path_in_hierarchy(p, hierarchy("/docker/x/sub", "/docker/x")), "/sub/berth/abc");
    EXPECT_EQ(path_in_hierarchy(p, hierarchy("/elsewhere", "/docker/x")), "/berth/abc");
}

TEST(CgroupPaths, EmptyPathUsesTheContainerId) {
    CgroupPath p = resolve_cgroups_path(opts("", "my-container"));
    EXPECT_FALSE(p.absolute);
    EXPECT_EQ(p.path, "my-container");
    EXPECT_EQ(path_in_hierarchy(p, hierarchy("/process_api/d6")), "/process_api/d6/my-container");
}

TEST(CgroupPaths, DotDotInsideThePathIsCleaned) {
    EXPECT_EQ(resolve_cgroups_path(opts("/a/b/../c")).path, "/a/c");
    EXPECT_EQ(resolve_cgroups_path(opts("a/./b/..")).path, "a");
}

TEST(CgroupPaths, EscapesAndRootsAreRejectedNamingTheField) {
    EXPECT_NE(error_of(opts("/../etc")).find("linux.cgroupsPath"), std::string::npos);
    EXPECT_NE(error_of(opts("/a/../../b")).find("escapes"), std::string::npos);
    EXPECT_NE(error_of(opts("../sibling")).find("escapes"), std::string::npos);
    EXPECT_NE(error_of(opts("a/../..")).find("escapes"), std::string::npos);
    EXPECT_NE(error_of(opts("/")).find("root"), std::string::npos);
    EXPECT_NE(error_of(opts("/a/..")).find("root"), std::string::npos);
    EXPECT_NE(error_of(opts("a/..")).find("own cgroup"), std::string::npos);
    EXPECT_NE(error_of(opts("", "..")).find("escapes"), std::string::npos);
    EXPECT_NE(error_of(opts("/a\nb")).find("control character"), std::string::npos);
    EXPECT_NE(error_of(opts("", "")).find("linux.cgroupsPath"), std::string::npos);
}

TEST(CgroupPaths, SystemdFormBecomesTheScopeUnderTheExpandedSlice) {
    CgroupPath p = resolve_cgroups_path(opts("machine.slice:libpod:abc", "abc", true));
    EXPECT_TRUE(p.absolute);
    EXPECT_EQ(p.path, "/machine.slice/libpod-abc.scope");
    EXPECT_EQ(resolve_cgroups_path(opts("a-b-c.slice:docker:123", "x", true)).path,
              "/a.slice/a-b.slice/a-b-c.slice/docker-123.scope");
    EXPECT_EQ(resolve_cgroups_path(opts("-.slice:pre:n", "x", true)).path, "/pre-n.scope");
    EXPECT_EQ(resolve_cgroups_path(opts(":pre:n", "x", true)).path, "/system.slice/pre-n.scope");
    EXPECT_EQ(resolve_cgroups_path(opts("system.slice::n", "x", true)).path,
              "/system.slice/n.scope");
    EXPECT_EQ(resolve_cgroups_path(opts("user.slice:x:my.slice", "x", true)).path,
              "/user.slice/my.slice");
    EXPECT_EQ(resolve_cgroups_path(opts("", "abc", true)).path, "/system.slice/berth-abc.scope");
    Options rootless = opts("", "abc", true);
    rootless.rootless = true;
    EXPECT_EQ(resolve_cgroups_path(rootless).path, "/user.slice/berth-abc.scope");
}

TEST(CgroupPaths, SystemdFormErrorsNameTheField) {
    for (const char* bad :
         {"/machine.slice/abc", "machine.slice:abc", "a:b:c:d", "machine:libpod:abc",
          "a--b.slice:p:n", "-a.slice:p:n", "machine.slice:p:", "machine.slice:p:a/b"}) {
        std::string e = error_of(opts(bad, "x", true));
        EXPECT_NE(e.find("linux.cgroupsPath"), std::string::npos) << bad << ": " << e;
    }
}

TEST(CgroupPaths, ExpandSlice) {
    EXPECT_EQ(expand_slice("machine.slice"), "/machine.slice");
    EXPECT_EQ(expand_slice("a-b.slice"), "/a.slice/a-b.slice");
    EXPECT_EQ(expand_slice("-.slice"), "/");
    EXPECT_THROW(expand_slice(".slice"), berth::Error);
    EXPECT_THROW(expand_slice("a.scope"), berth::Error);
    EXPECT_THROW(expand_slice("a-.slice"), berth::Error);
    EXPECT_THROW(expand_slice("a/b.slice"), berth::Error);
}
