// berth against Debian's docker-registry, with skopeo, umoci and podman on the other side:
// what one pushes the other pulls, and unpacked trees are the same.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "distribution/client/registry.hpp"
#include "image/byte_source.hpp"
#include "image/images.hpp"
#include "image/rootfs.hpp"
#include "support/images.hpp"
#include "support/registry.hpp"

namespace fs = std::filesystem;
using namespace berth::test;

namespace {

class RegistryTest : public ::testing::Test {
  protected:
    TempDir work{"berth-img"};
    TestRegistry registry;
    Berth berth;

    std::string ref(const std::string& name) const { return registry.host() + "/" + name; }

    // `berth image unpack`, returning the bundle directory.
    std::string unpack(const std::string& image) {
        std::string bundle = work.path() + "/bundle-" + std::to_string(bundles_++);
        auto r = berth({"image", "unpack", image, bundle});
        EXPECT_EQ(r.exit_code, 0) << r.describe();
        return bundle;
    }

    std::string umoci_unpack(const std::string& layout_and_tag) {
        std::string bundle = work.path() + "/umoci-" + std::to_string(bundles_++);
        auto r = run_command({"umoci", "unpack", "--image", layout_and_tag, bundle});
        EXPECT_EQ(r.exit_code, 0) << r.describe();
        return bundle;
    }

  private:
    int bundles_ = 0;
};

}  // namespace

TEST_F(RegistryTest, SkopeoPushesBerthPullsAndTheBundleRuns) {
    std::string layout = make_busybox_layout(work.path());
    auto copy = skopeo_copy("oci:" + layout + ":latest", "docker://" + ref("library/busybox:1.0"));
    ASSERT_EQ(copy.exit_code, 0) << copy.describe();

    auto pull = berth({"pull", ref("library/busybox:1.0")});
    ASSERT_EQ(pull.exit_code, 0) << pull.describe();
    EXPECT_EQ(pull.out.rfind("sha256:", 0), 0u) << pull.out;
    auto images = berth({"images", "--format", "json"});
    ASSERT_EQ(images.exit_code, 0) << images.describe();
    auto list = nlohmann::json::parse(images.out);
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0]["Names"][0], ref("library/busybox:1.0"));

    std::string bundle = unpack(ref("library/busybox:1.0"));
    EXPECT_EQ(
        listing_diff(tree_listing(bundle + "/rootfs"), tree_listing(busybox_rootfs_template())),
        "");
    // The config.json made from the image config runs under berth-runtime.
    nlohmann::json config = nlohmann::json::parse(std::ifstream(bundle + "/config.json"));
    EXPECT_EQ(config["process"]["args"], nlohmann::json::array({"sh"}));
    config["process"]["args"] = {"sh", "-c", "echo hello from the image"};
    std::ofstream(bundle + "/config.json") << config.dump();
    Runtime runtime;
    std::string id = unique_id("image");
    ContainerGuard guard(runtime, id);
    auto run = runtime({"run", "--bundle", bundle, id});
    EXPECT_EQ(run.exit_code, 0) << run.describe();
    EXPECT_EQ(run.out, "hello from the image\n");
}

TEST_F(RegistryTest, DebianLayersWithWhiteoutsUnpackLikeUmoci) {
    std::string layout = debian_layout();
    auto copy = skopeo_copy("oci:" + layout + ":bookworm", "docker://" + ref("debian:bookworm"));
    ASSERT_EQ(copy.exit_code, 0) << copy.describe();
    auto pull = berth({"pull", ref("debian:bookworm")});
    ASSERT_EQ(pull.exit_code, 0) << pull.describe();
    EXPECT_EQ(berth.snapshots().size(), 4u);

    std::string ours = unpack(ref("debian:bookworm")) + "/rootfs";
    std::string theirs = umoci_unpack(layout + ":bookworm") + "/rootfs";
    std::string listing = tree_listing(ours);
    EXPECT_EQ(listing_diff(listing, tree_listing(theirs)), "");
    // The whiteouts did their work.
    EXPECT_FALSE(fs::exists(ours + "/etc/motd"));
    EXPECT_FALSE(fs::exists(ours + "/usr/share/locale"));
    EXPECT_TRUE(fs::is_directory(ours + "/etc/issue"));
    EXPECT_TRUE(fs::is_regular_file(ours + "/var/log/apt"));
    std::vector<std::string> docs;
    for (const auto& e : fs::directory_iterator(ours + "/usr/share/doc"))
        docs.push_back(e.path().filename());
    EXPECT_EQ(docs, std::vector<std::string>{"README"});
    EXPECT_EQ(listing.find(".wh."), std::string::npos);

    // The overlay of the snapshots shows the same tree, and so does the copying fallback.
    berth::image::Images images(berth.root());
    berth::image::Settings settings;
    berth::image::Image image = images.load(images.find(ref("debian:bookworm"), settings));
    for (auto mode : {berth::image::RootfsMode::overlay, berth::image::RootfsMode::copy}) {
        std::string target = work.path() + "/mnt-" + std::to_string(static_cast<int>(mode));
        std::string scratch = work.path() + "/scratch-" + std::to_string(static_cast<int>(mode));
        fs::create_directories(target);
        fs::create_directories(scratch);
        berth::image::RootfsMount mount =
            berth::image::prepare_rootfs(images, image, target, scratch, mode);
        EXPECT_EQ(mount.is_overlay(), mode == berth::image::RootfsMode::overlay);
        EXPECT_EQ(listing_diff(tree_listing(target), listing), "")
            << "mode " << static_cast<int>(mode);
    }
    EXPECT_TRUE(mounts_under(work.path()).empty());
}

TEST_F(RegistryTest, BerthPushesSkopeoUmociAndPodmanPull) {
    std::string tarball = work.path() + "/busybox.tar.gz";
    ASSERT_TRUE(tar_busybox_template(tarball, {"-z"}));
    auto import = berth({"import", "--cmd", "sh", tarball, "localhost/bb:1"});
    ASSERT_EQ(import.exit_code, 0) << import.describe();
    // Monolithic, then chunked (100 kB chunks: the 1 MB layer goes in eleven PATCHes).
    auto mono = berth({"push", "--chunk-size", "0", "localhost/bb:1", ref("pushed/bb:1")});
    ASSERT_EQ(mono.exit_code, 0) << mono.describe();
    auto chunked = berth({"push", "--chunk-size", "100000", "localhost/bb:1", ref("chunked/bb:1")});
    ASSERT_EQ(chunked.exit_code, 0) << chunked.describe();
    EXPECT_EQ(first_line(mono.out), first_line(chunked.out));

    for (const auto& repo : {"pushed/bb:1", "chunked/bb:1"}) {
        std::string layout = work.path() + "/sk-" + std::string(repo).substr(0, 6);
        auto copy = skopeo_copy("docker://" + ref(repo), "oci:" + layout + ":1");
        ASSERT_EQ(copy.exit_code, 0) << copy.describe();
        std::string theirs = umoci_unpack(layout + ":1") + "/rootfs";
        EXPECT_EQ(listing_diff(tree_listing(theirs), tree_listing(busybox_rootfs_template())), "")
            << repo;
    }

    std::string storage = work.path() + "/podman";
    std::vector<std::string> podman{"podman",    "--root",         storage + "/root",
                                    "--runroot", storage + "/run", "--storage-driver",
                                    "vfs"};
    auto pull = podman;
    pull.insert(pull.end(), {"pull", "--tls-verify=false", ref("pushed/bb:1")});
    auto pulled = run_command(pull);
    EXPECT_EQ(pulled.exit_code, 0) << pulled.describe();
    auto digest = podman;
    digest.insert(digest.end(),
                  {"image", "inspect", "--format", "{{.Digest}}", ref("pushed/bb:1")});
    auto inspected = run_command(digest);
    EXPECT_EQ(first_line(inspected.out), first_line(mono.out)) << inspected.describe();
    auto reset = podman;
    reset.insert(reset.end(), {"system", "reset", "--force"});
    run_command(reset);
}

TEST_F(RegistryTest, PushMountsBlobsFromAnotherRepository) {
    std::string layout = make_busybox_layout(work.path());
    ASSERT_EQ(skopeo_copy("oci:" + layout + ":latest", "docker://" + ref("a/busybox:1")).exit_code,
              0);
    ASSERT_EQ(berth({"pull", ref("a/busybox:1")}).exit_code, 0);
    auto push = berth({"push", ref("a/busybox:1"), ref("b/busybox:1")});
    ASSERT_EQ(push.exit_code, 0) << push.describe();
    EXPECT_NE(push.err.find("Mounted from a/busybox"), std::string::npos) << push.err;
    auto again = berth({"push", ref("a/busybox:1"), ref("b/busybox:2")});
    ASSERT_EQ(again.exit_code, 0) << again.describe();
    EXPECT_NE(again.err.find("Layer already exists"), std::string::npos) << again.err;
}

TEST_F(RegistryTest, PullOfAnImageAlreadyPresentIsQuick) {
    std::string layout = make_busybox_layout(work.path());
    ASSERT_EQ(skopeo_copy("oci:" + layout + ":latest", "docker://" + ref("bb:1")).exit_code, 0);
    ASSERT_EQ(berth({"pull", "-q", ref("bb:1")}).exit_code, 0);
    std::vector<double> ms;
    for (int i = 0; i < 5; ++i) {
        auto start = std::chrono::steady_clock::now();
        auto r = berth({"pull", ref("bb:1")});
        ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count());
        ASSERT_EQ(r.exit_code, 0) << r.describe();
        EXPECT_NE(r.err.find("image is up to date"), std::string::npos) << r.err;
    }
    std::sort(ms.begin(), ms.end());
    std::cout << "pull of a present image: median " << ms[2] << " ms\n";
    EXPECT_LT(ms[2], 1000.0);  // the figure itself (< 50 ms) is bench/pull-unpack's
    // By digest: no registry needed at all.
    auto inspect = nlohmann::json::parse(berth({"inspect", ref("bb:1")}).out);
    std::string digest = inspect[0]["Digest"];
    auto by_digest = berth({"pull", ref("bb@" + digest)});
    EXPECT_EQ(by_digest.exit_code, 0) << by_digest.describe();
}

TEST_F(RegistryTest, ZstdLayersAndTagListing) {
    std::string layout = make_busybox_layout(work.path());
    for (const auto& tag : {"1", "2", "3"}) {
        auto copy = skopeo_copy("oci:" + layout + ":latest",
                                "docker://" + ref(std::string("zstd/bb:") + tag),
                                {"--dest-compress-format", "zstd"});
        ASSERT_EQ(copy.exit_code, 0) << copy.describe();
    }
    auto pull = berth({"pull", ref("zstd/bb:2")});
    ASSERT_EQ(pull.exit_code, 0) << pull.describe();
    auto inspect = nlohmann::json::parse(berth({"inspect", ref("zstd/bb:2")}).out);
    EXPECT_EQ(inspect[0]["Layers"][0]["MediaType"], "application/vnd.oci.image.layer.v1.tar+zstd");
    EXPECT_EQ(listing_diff(tree_listing(unpack(ref("zstd/bb:2")) + "/rootfs"),
                           tree_listing(busybox_rootfs_template())),
              "");

    berth::distribution::HttpClient http;
    berth::image::Settings settings;
    berth::distribution::CredentialStore none(work.path() + "/none.json", false);
    auto client = berth::distribution::open_registry(http, registry.host(), settings, none);
    auto tags = client->list_tags("zstd/bb", 1);  // one per page: follows the Link headers
    std::sort(tags.begin(), tags.end());
    EXPECT_EQ(tags, (std::vector<std::string>{"1", "2", "3"}));
}

class AuthRegistryTest : public ::testing::Test {
  protected:
    TempDir work{"berth-img"};
    TestRegistry registry{"tester", "secret-pw"};
    Berth berth;
    std::string ref(const std::string& name) const { return registry.host() + "/" + name; }
};

TEST_F(AuthRegistryTest, LoginPushPullLogout) {
    std::string layout = make_busybox_layout(work.path());
    auto anonymous = berth({"pull", ref("auth/bb:1")});
    EXPECT_EQ(anonymous.exit_code, 1);
    EXPECT_EQ(std::count(anonymous.err.begin(), anonymous.err.end(), '\n'), 1) << anonymous.err;
    EXPECT_EQ(anonymous.err.rfind("berth: ", 0), 0u) << anonymous.err;
    EXPECT_NE(anonymous.err.find("authentication required"), std::string::npos) << anonymous.err;
    EXPECT_NE(anonymous.err.find(ref("auth/bb")), std::string::npos) << anonymous.err;

    auto wrong = berth({"login", "-u", "tester", "-p", "wrong", registry.host()});
    EXPECT_EQ(wrong.exit_code, 1);
    EXPECT_NE(wrong.err.find("credentials rejected"), std::string::npos) << wrong.err;
    EXPECT_FALSE(fs::exists(berth.authfile()));

    CommandOptions stdin_password;
    stdin_password.input = "secret-pw\n";
    auto login =
        berth({"login", "-u", "tester", "--password-stdin", registry.host()}, stdin_password);
    ASSERT_EQ(login.exit_code, 0) << login.describe();
    EXPECT_EQ(login.out, "Login Succeeded\n");
    auto auth = nlohmann::json::parse(std::ifstream(berth.authfile()));
    EXPECT_EQ(auth["auths"][registry.host()]["auth"], "dGVzdGVyOnNlY3JldC1wdw==");
    EXPECT_EQ(fs::status(berth.authfile()).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);

    // skopeo pushes with the same credentials; berth pulls, pushes back, skopeo pulls that.
    auto copy = skopeo_copy("oci:" + layout + ":latest", "docker://" + ref("auth/bb:1"),
                            {"--dest-creds", "tester:secret-pw"});
    ASSERT_EQ(copy.exit_code, 0) << copy.describe();
    auto pull = berth({"pull", ref("auth/bb:1")});
    ASSERT_EQ(pull.exit_code, 0) << pull.describe();
    auto push = berth({"push", ref("auth/bb:1"), ref("auth/copy:1")});
    ASSERT_EQ(push.exit_code, 0) << push.describe();
    auto back = skopeo_copy("docker://" + ref("auth/copy:1"), "oci:" + work.path() + "/back:1",
                            {"--src-creds", "tester:secret-pw"});
    EXPECT_EQ(back.exit_code, 0) << back.describe();

    auto logout = berth({"logout", registry.host()});
    ASSERT_EQ(logout.exit_code, 0) << logout.describe();
    ASSERT_EQ(berth({"rmi", ref("auth/bb:1")}).exit_code, 0);
    auto after = berth({"pull", ref("auth/bb:1")});
    EXPECT_EQ(after.exit_code, 1);
    EXPECT_NE(after.err.find("authentication required"), std::string::npos) << after.err;
    EXPECT_TRUE(berth.stored_blobs().empty());
    EXPECT_TRUE(berth.snapshots().empty());
}

// docker-registry 2.8 has no referrers API: the client falls back to the tag schema
// (an index tagged sha256-<hex>) and filters it by artifactType itself.
TEST_F(RegistryTest, ReferrersThroughTheTagSchemaFallback) {
    berth::distribution::HttpClient http;
    berth::image::Settings settings;
    berth::distribution::CredentialStore none(work.path() + "/none.json", false);
    auto client = berth::distribution::open_registry(http, registry.host(), settings, none);
    const std::string repo = "signed/app";
    auto upload = [&](const std::string& bytes) {
        berth::Digest d = berth::digest_of(bytes);
        client->upload_blob(
            repo, d, static_cast<int64_t>(bytes.size()),
            [&](int64_t offset) {
                return std::make_unique<berth::image::MemorySource>(
                    std::string_view(bytes).substr(static_cast<size_t>(offset)));
            },
            0);
        return d;
    };
    berth::Digest empty = upload("{}");
    auto manifest = [&](const std::string& artifact_type,
                        const std::optional<berth::Digest>& subject, int64_t subject_size) {
        nlohmann::json m = {
            {"schemaVersion", 2},
            {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
            {"config",
             {{"mediaType", "application/vnd.oci.empty.v1+json"},
              {"digest", empty.str()},
              {"size", 2}}},
            {"layers", nlohmann::json::array({{{"mediaType", "application/vnd.oci.empty.v1+json"},
                                               {"digest", empty.str()},
                                               {"size", 2}}})}};
        if (!artifact_type.empty()) m["artifactType"] = artifact_type;
        if (subject)
            m["subject"] = {{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                            {"digest", subject->str()},
                            {"size", subject_size}};
        return m.dump();
    };
    const std::string media = "application/vnd.oci.image.manifest.v1+json";
    std::string subject_bytes = manifest("", std::nullopt, 0);
    berth::Digest subject = client->put_manifest(repo, "1", subject_bytes, media);
    EXPECT_TRUE(client->referrers(repo, subject, "").manifests.empty());

    auto subject_size = static_cast<int64_t>(subject_bytes.size());
    std::string signature = manifest("application/vnd.example.signature", subject, subject_size);
    std::string sbom = manifest("application/vnd.example.sbom", subject, subject_size);
    nlohmann::json index = {{"schemaVersion", 2},
                            {"mediaType", "application/vnd.oci.image.index.v1+json"},
                            {"manifests", nlohmann::json::array()}};
    for (const auto& [bytes, type] : {std::pair{signature, "application/vnd.example.signature"},
                                      std::pair{sbom, "application/vnd.example.sbom"}}) {
        berth::Digest d = client->put_manifest(repo, berth::digest_of(bytes).str(), bytes, media);
        index["manifests"].push_back({{"mediaType", media},
                                      {"digest", d.str()},
                                      {"size", bytes.size()},
                                      {"artifactType", type}});
    }
    client->put_manifest(repo, "sha256-" + subject.hex(), index.dump(),
                         "application/vnd.oci.image.index.v1+json");

    auto all = client->referrers(repo, subject, "");
    ASSERT_EQ(all.manifests.size(), 2u);
    auto signatures = client->referrers(repo, subject, "application/vnd.example.signature");
    ASSERT_EQ(signatures.manifests.size(), 1u);
    EXPECT_EQ(signatures.manifests[0].digest, berth::digest_of(signature));
}
