// containerd's ctr pushes to and pulls from berth registry serve over plain HTTP. Serial
// with the other containerd tests (the shims share /run/containerd/s).
#include <gtest/gtest.h>

#include "support/berth_registry.hpp"
#include "support/containerd.hpp"

using namespace berth::test;

TEST(RegistryContainerdTest, CtrPushesAndPullsOverPlainHttp) {
    BerthRegistry registry;
    auto ref = [&](const std::string& name) { return registry.host() + "/" + name; };
    Containerd containerd;
    ASSERT_EQ(
        containerd.ctr({"image", "tag", "localhost/busybox:latest", ref("ctr/bb:1")}).exit_code, 0);
    auto pushed = containerd.ctr({"image", "push", "--plain-http", ref("ctr/bb:1")});
    ASSERT_EQ(pushed.exit_code, 0) << pushed.describe() << registry.log();
    ASSERT_EQ(containerd.ctr({"image", "rm", ref("ctr/bb:1")}).exit_code, 0);
    auto pulled = containerd.ctr({"image", "pull", "--plain-http", ref("ctr/bb:1")});
    ASSERT_EQ(pulled.exit_code, 0) << pulled.describe();
    auto listed = containerd.ctr({"image", "ls", "-q"});
    EXPECT_NE(listed.out.find(ref("ctr/bb:1")), std::string::npos) << listed.out;
    auto manifest = run_command(
        {"skopeo", "inspect", "--raw", "--tls-verify=false", "docker://" + ref("ctr/bb:1")});
    EXPECT_EQ(manifest.exit_code, 0) << manifest.describe();
}
