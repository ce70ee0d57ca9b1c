// Real clients against berth registry serve: skopeo (OCI and Docker formats, in and out),
// podman push/pull and berth's own client (containerd's ctr is in registry_containerd_test.cpp,
// which runs serially with the other containerd tests).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/berth_registry.hpp"
#include "support/images.hpp"

using namespace berth::test;

namespace {

class RegistryClientsTest : public ::testing::Test {
  protected:
    TempDir work{"berth-regc"};
    BerthRegistry registry;
    std::string ref(const std::string& name) const { return registry.host() + "/" + name; }

    nlohmann::json inspect_raw(const std::string& image) {
        auto r = run_command(
            {"skopeo", "inspect", "--raw", "--tls-verify=false", "docker://" + ref(image)});
        EXPECT_EQ(r.exit_code, 0) << r.describe();
        return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
    }
};

}  // namespace

TEST_F(RegistryClientsTest, SkopeoCopiesInAndOutInOciAndDockerFormats) {
    const std::string layout = make_busybox_layout(work.path());
    auto oci = skopeo_copy("oci:" + layout + ":latest", "docker://" + ref("lib/bb:oci"),
                           {"--format", "oci"});
    ASSERT_EQ(oci.exit_code, 0) << oci.describe() << registry.log();
    auto docker = skopeo_copy("oci:" + layout + ":latest", "docker://" + ref("lib/bb:docker"),
                              {"--format", "v2s2"});
    ASSERT_EQ(docker.exit_code, 0) << docker.describe();
    EXPECT_EQ(inspect_raw("lib/bb:oci")["mediaType"], "application/vnd.oci.image.manifest.v1+json");
    EXPECT_EQ(inspect_raw("lib/bb:docker")["mediaType"],
              "application/vnd.docker.distribution.manifest.v2+json");

    // Out again, to a layout and a docker archive; the layers are the ones that went in.
    auto out = skopeo_copy("docker://" + ref("lib/bb:oci"), "oci:" + work.path() + "/out:1");
    ASSERT_EQ(out.exit_code, 0) << out.describe();
    auto archive = skopeo_copy("docker://" + ref("lib/bb:docker"),
                               "docker-archive:" + work.path() + "/out.tar");
    ASSERT_EQ(archive.exit_code, 0) << archive.describe();
    auto in = run_command({"skopeo", "inspect", "oci:" + layout + ":latest"});
    auto back = run_command({"skopeo", "inspect", "oci:" + work.path() + "/out:1"});
    ASSERT_EQ(in.exit_code, 0);
    ASSERT_EQ(back.exit_code, 0);
    EXPECT_EQ(nlohmann::json::parse(in.out)["Layers"], nlohmann::json::parse(back.out)["Layers"]);
    // A second copy to another repository mounts or finds every blob: nothing is uploaded.
    auto again = skopeo_copy("oci:" + layout + ":latest", "docker://" + ref("other/bb:1"),
                             {"--format", "oci"});
    ASSERT_EQ(again.exit_code, 0) << again.describe();
    auto tags =
        run_command({"skopeo", "list-tags", "--tls-verify=false", "docker://" + ref("lib/bb")});
    EXPECT_EQ(nlohmann::json::parse(tags.out)["Tags"], nlohmann::json({"docker", "oci"}));
}

TEST_F(RegistryClientsTest, PodmanPushesAndPulls) {
    const std::string layout = make_busybox_layout(work.path());
    ASSERT_EQ(skopeo_copy("oci:" + layout + ":latest", "docker://" + ref("lib/bb:1")).exit_code, 0);
    const std::string storage = work.path() + "/podman";
    const std::vector<std::string> podman{"podman",    "--root",         storage + "/root",
                                          "--runroot", storage + "/run", "--storage-driver",
                                          "vfs"};
    struct Reset {
        std::vector<std::string> podman;
        ~Reset() {
            auto reset = podman;
            reset.insert(reset.end(), {"system", "reset", "--force"});
            run_command(reset);
        }
    } reset{podman};
    auto with = [&](std::vector<std::string> args) {
        auto argv = podman;
        argv.insert(argv.end(), args.begin(), args.end());
        CommandOptions options;
        options.timeout = std::chrono::minutes(2);
        return run_command(argv, options);
    };
    auto pulled = with({"pull", "--tls-verify=false", ref("lib/bb:1")});
    ASSERT_EQ(pulled.exit_code, 0) << pulled.describe();
    ASSERT_EQ(with({"tag", ref("lib/bb:1"), ref("podman/bb:2")}).exit_code, 0);
    auto pushed = with({"push", "--tls-verify=false", ref("podman/bb:2")});
    ASSERT_EQ(pushed.exit_code, 0) << pushed.describe() << registry.log();
    auto manifest = inspect_raw("podman/bb:2");
    EXPECT_EQ(manifest["layers"].size(), 1U);
    ASSERT_EQ(with({"rmi", "--all", "--force"}).exit_code, 0);
    auto again = with({"pull", "--tls-verify=false", ref("podman/bb:2")});
    EXPECT_EQ(again.exit_code, 0) << again.describe();
}

TEST_F(RegistryClientsTest, BerthPushesAndPulls) {
    Berth pusher;
    auto loaded = pusher({"load", "-i", make_busybox_image(work.path())});
    ASSERT_EQ(loaded.exit_code, 0) << loaded.describe();
    auto mono =
        pusher({"push", "--chunk-size", "0", "localhost/busybox:latest", ref("berth/bb:1")});
    ASSERT_EQ(mono.exit_code, 0) << mono.describe() << registry.log();
    auto chunked = pusher(
        {"push", "--chunk-size", "100000", "localhost/busybox:latest", ref("berth/chunked:1")});
    ASSERT_EQ(chunked.exit_code, 0) << chunked.describe();
    EXPECT_EQ(first_line(mono.out), first_line(chunked.out));
    Berth puller;
    auto pulled = puller({"pull", "-q", ref("berth/chunked:1")});
    ASSERT_EQ(pulled.exit_code, 0) << pulled.describe();
    auto images = puller({"images", "--format", "json"});
    EXPECT_NE(images.out.find("berth/chunked"), std::string::npos) << images.out;
}
