// save/load/import against skopeo, umoci and podman: docker-archive, oci-archive and OCI
// layout directories written by one are read by the other; bad archives leave nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/images.hpp"

namespace fs = std::filesystem;
using namespace berth::test;

namespace {

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

class ArchiveTest : public ::testing::Test {
  protected:
    TempDir work{"berth-archive"};
    Berth berth;

    // The busybox rootfs imported as localhost/busybox:1.
    void import_busybox() {
        std::string tarball = work.path() + "/busybox.tar";
        ASSERT_TRUE(tar_busybox_template(tarball));
        auto r = berth({"import", "--cmd", "sh", tarball, "localhost/busybox:1"});
        ASSERT_EQ(r.exit_code, 0) << r.describe();
    }
    std::string busybox_listing() { return tree_listing(busybox_rootfs_template()); }
    std::string unpack(const Berth& b, const std::string& image) {
        std::string bundle = work.path() + "/bundle-" + std::to_string(counter_++);
        auto r = b({"image", "unpack", image, bundle});
        EXPECT_EQ(r.exit_code, 0) << r.describe();
        return bundle + "/rootfs";
    }
    std::string umoci_unpack(const std::string& image) {
        std::string bundle = work.path() + "/umoci-" + std::to_string(counter_++);
        auto r = run_command({"umoci", "unpack", "--image", image, bundle});
        EXPECT_EQ(r.exit_code, 0) << r.describe();
        return bundle + "/rootfs";
    }

  private:
    int counter_ = 0;
};

}  // namespace

TEST_F(ArchiveTest, DockerArchiveIsReadBySkopeoAndPodman) {
    import_busybox();
    std::string archive = work.path() + "/saved.tar";
    auto save = berth({"save", "-o", archive, "localhost/busybox:1"});
    ASSERT_EQ(save.exit_code, 0) << save.describe();
    auto copy = skopeo_copy("docker-archive:" + archive, "oci:" + work.path() + "/sk:1");
    ASSERT_EQ(copy.exit_code, 0) << copy.describe();
    EXPECT_EQ(listing_diff(tree_listing(umoci_unpack(work.path() + "/sk:1")), busybox_listing()),
              "");

    std::string storage = work.path() + "/podman";
    auto load = run_command({"podman", "--root", storage + "/root", "--runroot", storage + "/run",
                             "--storage-driver", "vfs", "load", "-i", archive});
    EXPECT_EQ(load.exit_code, 0) << load.describe();
    EXPECT_NE(load.out.find("localhost/busybox:1"), std::string::npos) << load.out;
    run_command({"podman", "--root", storage + "/root", "--runroot", storage + "/run",
                 "--storage-driver", "vfs", "system", "reset", "--force"});

    // And berth reads it back (to stdout and in again through stdin).
    Berth other;
    CommandOptions in;
    in.input = read_all(archive);
    auto loaded = other({"load"}, in);
    ASSERT_EQ(loaded.exit_code, 0) << loaded.describe();
    EXPECT_EQ(loaded.out, "Loaded image: localhost/busybox:1\n");
    EXPECT_EQ(listing_diff(tree_listing(unpack(other, "localhost/busybox:1")), busybox_listing()),
              "");
}

TEST_F(ArchiveTest, OciArchiveAndLayoutAreReadBySkopeoAndUmoci) {
    import_busybox();
    std::string archive = work.path() + "/oci.tar";
    ASSERT_EQ(
        berth({"save", "--format", "oci-archive", "-o", archive, "localhost/busybox:1"}).exit_code,
        0);
    auto copy =
        skopeo_copy("oci-archive:" + archive + ":1", "oci:" + work.path() + "/from-archive:1");
    ASSERT_EQ(copy.exit_code, 0) << copy.describe();

    std::string layout = work.path() + "/layout";
    auto save = berth({"save", "--format", "oci-dir", "-o", layout, "localhost/busybox:1"});
    ASSERT_EQ(save.exit_code, 0) << save.describe();
    EXPECT_EQ(listing_diff(tree_listing(umoci_unpack(layout + ":1")), busybox_listing()), "");
    auto index = nlohmann::json::parse(std::ifstream(layout + "/index.json"));
    EXPECT_EQ(index["manifests"][0]["annotations"]["io.containerd.image.name"],
              "localhost/busybox:1");

    Berth other;
    auto loaded = other({"load", "-i", archive});
    ASSERT_EQ(loaded.exit_code, 0) << loaded.describe();
    EXPECT_EQ(loaded.out, "Loaded image: localhost/busybox:1\n");
}

TEST_F(ArchiveTest, LoadsWhatSkopeoAndUmociWrite) {
    std::string layout = make_busybox_layout(work.path());
    // skopeo's docker-archive.
    std::string archive = work.path() + "/skopeo.tar";
    auto copy =
        skopeo_copy("oci:" + layout + ":latest", "docker-archive:" + archive + ":localhost/sk:1");
    ASSERT_EQ(copy.exit_code, 0) << copy.describe();
    auto loaded = berth({"load", "-i", archive});
    ASSERT_EQ(loaded.exit_code, 0) << loaded.describe();
    EXPECT_EQ(loaded.out, "Loaded image: localhost/sk:1\n");
    EXPECT_EQ(listing_diff(tree_listing(unpack(berth, "localhost/sk:1")), busybox_listing()), "");

    // An image umoci made: a new layout, the busybox tree inserted as a layer.
    std::string umoci = work.path() + "/umoci-layout";
    ASSERT_EQ(run_command({"umoci", "init", "--layout", umoci}).exit_code, 0);
    ASSERT_EQ(run_command({"umoci", "new", "--image", umoci + ":v1"}).exit_code, 0);
    auto insert =
        run_command({"umoci", "insert", "--image", umoci + ":v1", busybox_rootfs_template(), "/"});
    ASSERT_EQ(insert.exit_code, 0) << insert.describe();
    Berth other;
    auto from_umoci = other({"load", "-i", umoci});
    ASSERT_EQ(from_umoci.exit_code, 0) << from_umoci.describe();
    EXPECT_EQ(from_umoci.out, "Loaded image: localhost/umoci-layout:v1\n");
    EXPECT_EQ(listing_diff(tree_listing(unpack(other, "localhost/umoci-layout:v1")),
                           tree_listing(umoci_unpack(umoci + ":v1"))),
              "");
}

TEST_F(ArchiveTest, ImportFromStdinAndCompressed) {
    std::string tarball = work.path() + "/rootfs.tar.zst";
    ASSERT_TRUE(tar_busybox_template(tarball, {"--zstd"}));
    CommandOptions in;
    in.input = read_all(tarball);
    auto r = berth({"import", "-", "example.com/team/rootfs:v2"}, in);
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    auto info = nlohmann::json::parse(berth({"inspect", "example.com/team/rootfs:v2"}).out);
    EXPECT_EQ(info[0]["Layers"][0]["MediaType"], "application/vnd.oci.image.layer.v1.tar+zstd");
    EXPECT_EQ(
        listing_diff(tree_listing(unpack(berth, "example.com/team/rootfs:v2")), busybox_listing()),
        "");
}

TEST_F(ArchiveTest, BadArchivesLeaveNothing) {
    import_busybox();
    std::string archive = work.path() + "/saved.tar";
    ASSERT_EQ(berth({"save", "-o", archive, "localhost/busybox:1"}).exit_code, 0);
    // Rewrite the layer with other bytes: its diff ID no longer matches.
    std::string dir = work.path() + "/unpacked";
    fs::create_directories(dir);
    ASSERT_EQ(run_command({"tar", "-xf", archive, "-C", dir}).exit_code, 0);
    std::string layer;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".tar") layer = e.path();
    ASSERT_FALSE(layer.empty());
    std::ofstream(layer, std::ios::app) << std::string(1024, '\0');
    std::string bad = work.path() + "/bad.tar";
    ASSERT_EQ(run_command({"tar", "-cf", bad, "-C", dir, "."}).exit_code, 0);
    Berth other;
    auto r = other({"load", "-i", bad});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(fs::path(layer).filename().string()), std::string::npos) << r.err;
    EXPECT_TRUE(other.stored_blobs().empty());
    EXPECT_TRUE(other.snapshots().empty());

    CommandOptions garbage;
    garbage.input = "this is not a tar archive";
    r = other({"load"}, garbage);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(other.stored_blobs().empty());
    r = other({"import", "-", "localhost/empty:1"}, CommandOptions{});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(other.stored_blobs().empty());
}

TEST_F(ArchiveTest, RmiPruneAndDiskUsage) {
    import_busybox();
    ASSERT_EQ(berth({"tag", "localhost/busybox:1", "localhost/busybox:2"}).exit_code, 0);
    auto df = nlohmann::json::parse(berth({"system", "df", "--format", "json"}).out);
    EXPECT_EQ(df["Images"]["Count"], 1);
    EXPECT_EQ(df["Snapshots"]["Count"], 1);
    EXPECT_EQ(df["Blobs"]["Reclaimable"], 0);
    // Untagging one name keeps the image.
    auto rmi = berth({"rmi", "localhost/busybox:1"});
    ASSERT_EQ(rmi.exit_code, 0) << rmi.describe();
    EXPECT_EQ(rmi.out, "Untagged: localhost/busybox:1\n");
    EXPECT_EQ(berth.stored_blobs().size(), 3u);
    // An unnamed image is what prune removes; with it its blobs and snapshot go.
    ASSERT_EQ(berth({"rmi", "localhost/busybox:2"}).exit_code, 0);
    EXPECT_TRUE(berth.stored_blobs().empty());
    EXPECT_TRUE(berth.snapshots().empty());

    import_busybox();
    ASSERT_EQ(berth({"tag", "localhost/busybox:1", "localhost/other:1"}).exit_code, 0);
    auto ambiguous = berth(
        {"rmi", nlohmann::json::parse(berth({"inspect", "localhost/busybox:1"}).out)[0]["Id"]});
    EXPECT_EQ(ambiguous.exit_code, 1);
    EXPECT_NE(ambiguous.err.find("2 names"), std::string::npos) << ambiguous.err;
    auto prune = berth({"image", "prune"});
    EXPECT_EQ(prune.exit_code, 0);
    EXPECT_EQ(berth.stored_blobs().size(), 3u);  // named: kept
    auto all = berth({"image", "prune", "-a"});
    EXPECT_EQ(all.exit_code, 0) << all.describe();
    EXPECT_TRUE(berth.stored_blobs().empty());
    EXPECT_TRUE(berth.snapshots().empty());
    EXPECT_EQ(berth({"images", "-q"}).out, "");
}
