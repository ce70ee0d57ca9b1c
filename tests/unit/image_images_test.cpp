// The local image store as a whole: commit, lookups, gc, prune, archives, import, and the
// runtime config made from an image config. Unprivileged (layers without devices or
// whiteouts).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "common/file.hpp"
#include "common/remove_tree.hpp"
#include "image/archive_load.hpp"
#include "image/docker_archive.hpp"
#include "image/durability.hpp"
#include "image/gc.hpp"
#include "image/images.hpp"
#include "image/import_rootfs.hpp"
#include "image/oci_layout.hpp"
#include "image/platform.hpp"
#include "image/read_ahead.hpp"
#include "image/runtime_config.hpp"
#include "oci/media_types.hpp"
#include "support/tar_builder.hpp"

namespace fs = std::filesystem;
using namespace berth;
using namespace berth::image;
using namespace berth::test;

namespace {

class ImagesTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-images-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir = tmpl;
        images = std::make_unique<Images>(dir + "/root");
    }
    void TearDown() override {
        images.reset();
        remove_tree(dir);  // not fs::remove_all: the background flush may unlink meanwhile
    }

    // Stores an image of these (uncompressed) layer tars; returns its manifest digest.
    Digest store_image(const std::vector<std::string>& tars) {
        oci::ImageConfig config;
        config.architecture = host_platform().architecture;
        config.os = "linux";
        config.config.cmd = {"sh"};
        oci::Manifest manifest;
        manifest.media_type = oci::media_type::kOciManifest;
        for (const auto& tar : tars) {
            config.diff_ids.push_back(digest_of(tar));
            const std::string& blob = tar;
            Digest d = images->store().put(blob);
            manifest.layers.push_back({std::string(oci::media_type::kOciLayer),
                                       d,
                                       static_cast<int64_t>(blob.size()),
                                       {},
                                       {},
                                       std::nullopt,
                                       {}});
        }
        std::string config_bytes = to_json(config).dump();
        manifest.config = {std::string(oci::media_type::kOciConfig),
                           images->store().put(config_bytes),
                           static_cast<int64_t>(config_bytes.size()),
                           {},
                           {},
                           std::nullopt,
                           {}};
        return images->store().put(to_json(manifest).dump());
    }

    std::string dir;
    std::unique_ptr<Images> images;
    Settings settings;
};

std::string layer_a() {
    return make_tar({tar_dir("etc/"), tar_file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
                     tar_file("a", "A")});
}
std::string layer_b() {
    return make_tar({tar_file("b", "B")});
}

}  // namespace

TEST_F(ImagesTest, CommitFindAndLoad) {
    Digest id = store_image({layer_a(), layer_b()});
    ImageRecord r = images->commit(id, std::nullopt, {"localhost/app:1"});
    EXPECT_EQ(r.id, id);
    EXPECT_EQ(r.names, std::vector<std::string>{"localhost/app:1"});
    EXPECT_EQ(images->snapshots().list().size(), 2u);
    // By name, short id, full id, config id.
    EXPECT_EQ(images->find("localhost/app:1", settings).id, id);
    EXPECT_EQ(images->find(r.config.hex().substr(0, 12), settings).id, id);
    EXPECT_EQ(images->find(id.str(), settings).id, id);
    EXPECT_EQ(images->find("localhost/app@" + id.str(), settings).id, id);
    EXPECT_THROW(images->find("localhost/app:2", settings), ImageNotFound);
    Image image = images->load(r);
    EXPECT_EQ(image.chain.size(), 2u);
    EXPECT_EQ(image.chain[0], digest_of(layer_a()));
    EXPECT_EQ(image.chain[1], chain_id(image.chain[0], digest_of(layer_b())));
    auto info = images->snapshots().info(image.chain[1]);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->parent, image.chain[0]);
    EXPECT_EQ(read_file(images->snapshots().fs_path(image.chain[1]) + "/b"), "B");
    EXPECT_FALSE(fs::exists(images->snapshots().fs_path(image.chain[1]) + "/a"));
}

TEST_F(ImagesTest, CommitRefusesIncompleteImages) {
    Digest id = store_image({layer_a()});
    Image image = images->read_manifest(id);
    images->store().remove(image.manifest.layers[0].digest);
    try {
        images->commit(id, std::nullopt, {"x/y:1"});
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("layer " + image.manifest.layers[0].digest.str() +
                                             " is missing"),
                  std::string::npos);
    }
    EXPECT_TRUE(images->db().list().empty());
    EXPECT_TRUE(images->snapshots().list().empty());
}

TEST_F(ImagesTest, GcKeepsWhatImagesUseAndPruneRemovesUnnamed) {
    Digest one = store_image({layer_a(), layer_b()});
    Digest two = store_image({layer_a()});
    images->commit(one, std::nullopt, {"localhost/one:1"});
    images->commit(two, std::nullopt, {"localhost/two:1"});
    Digest stray = images->store().put("stray blob");
    GcResult gc = collect_garbage(*images);
    EXPECT_EQ(gc.blobs_removed, std::vector<Digest>{stray});
    EXPECT_TRUE(gc.snapshots_removed.empty());

    RemoveResult removed = remove_image(*images, "localhost/one:1", settings, false);
    EXPECT_EQ(removed.deleted, std::vector<Digest>{one});
    // layer_a is shared with image two: kept; layer_b and one's snapshot are gone.
    EXPECT_FALSE(images->store().has(digest_of(layer_b())));
    EXPECT_TRUE(images->store().has(digest_of(layer_a())));
    EXPECT_EQ(images->snapshots().list().size(), 1u);

    images->db().remove_name("localhost/two:1");  // now unnamed, as after a re-pull
    DiskUsage usage = disk_usage(*images);
    EXPECT_EQ(usage.images.count, 1);
    EXPECT_EQ(usage.dangling_images, 1);
    PruneResult pruned = prune_images(*images, false);
    EXPECT_EQ(pruned.images_removed, std::vector<Digest>{two});
    EXPECT_TRUE(images->store().list().empty());
    EXPECT_TRUE(images->snapshots().list().empty());
}

TEST_F(ImagesTest, DockerArchiveAndOciLayoutRoundTrip) {
    Digest id = store_image({layer_a(), layer_b()});
    ImageRecord r = images->commit(id, std::nullopt, {"localhost/app:1"});
    std::string archive = dir + "/docker.tar";
    write_docker_archive(*images, {{r, "localhost/app:1"}}, *tar_sink(archive));
    std::string layout = dir + "/layout";
    write_oci_layout(*images, {{r, "localhost/app:1"}}, *directory_sink(layout));
    EXPECT_TRUE(fs::exists(layout + "/oci-layout"));
    EXPECT_TRUE(fs::exists(layout + "/blobs/sha256/" + id.hex()));

    Images other(dir + "/other");
    LoadOptions options;
    options.platform = host_platform();
    UniqueFd fd = open_file(archive, O_RDONLY);
    auto loaded = load_archive(other, fd.get(), archive, options);
    ASSERT_EQ(loaded.size(), 1u);
    EXPECT_EQ(loaded[0].names, std::vector<std::string>{"localhost/app:1"});
    EXPECT_EQ(loaded[0].config, r.config);  // same config, docker-archive manifest
    EXPECT_EQ(loaded[0].media_type, oci::media_type::kDockerManifest);

    Images third(dir + "/third");
    auto from_layout = load_oci_layout_dir(third, layout, options);
    ASSERT_EQ(from_layout.size(), 1u);
    EXPECT_EQ(from_layout[0].id, id);  // the very manifest
    EXPECT_EQ(from_layout[0].names, std::vector<std::string>{"localhost/app:1"});
}

TEST_F(ImagesTest, LayoutNamesFromAnnotations) {
    oci::Descriptor d;
    d.annotations["org.opencontainers.image.ref.name"] = "v1";
    EXPECT_EQ(layout_image_name(d, "My Image"), "localhost/my-image:v1");
    d.annotations["org.opencontainers.image.ref.name"] = "quay.io/a/b:2";
    EXPECT_EQ(layout_image_name(d, "x"), "quay.io/a/b:2");
    d.annotations["io.containerd.image.name"] = "docker.io/library/busybox:latest";
    EXPECT_EQ(layout_image_name(d, "x"), "docker.io/library/busybox:latest");
    EXPECT_EQ(layout_image_name(oci::Descriptor{}, "x"), "");
}

TEST_F(ImagesTest, ImportMakesAOneLayerImage) {
    std::string tar = make_tar({tar_file("hello", "world")}, TarCompression::gzip);
    std::string path = dir + "/rootfs.tar.gz";
    std::ofstream(path, std::ios::binary) << tar;
    UniqueFd fd = open_file(path, O_RDONLY);
    ImportOptions options;
    options.name = "localhost/imported:1";
    options.platform = host_platform();
    ImageRecord r = import_rootfs(*images, fd.get(), path, options);
    Image image = images->load(r);
    EXPECT_EQ(image.manifest.layers[0].media_type, oci::media_type::kOciLayerGzip);
    EXPECT_EQ(image.config.diff_ids[0], digest_of(make_tar({tar_file("hello", "world")})));
    EXPECT_EQ(read_file(images->snapshots().fs_path(image.chain[0]) + "/hello"), "world");
}

TEST_F(ImagesTest, FlatUnpackAppliesLayersInOrder) {
    Digest id = store_image({layer_a(), make_tar({tar_file(".wh.a", ""), tar_file("c", "C")})});
    // The second layer has a whiteout: its snapshot needs root (a 0/0 device), the flat
    // unpack does not.
    Image image = images->read_manifest(id);
    fs::create_directories(dir + "/flat");
    UniqueFd target = open_file(dir + "/flat", O_RDONLY | O_DIRECTORY);
    images->unpack_flat(image, target.get());
    EXPECT_FALSE(fs::exists(dir + "/flat/a"));
    EXPECT_EQ(read_file(dir + "/flat/c"), "C");
}

TEST(RuntimeConfig, FromImageConfig) {
    char tmpl[] = "/tmp/berth-rc-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    std::string root = tmpl;
    fs::create_directories(root + "/etc");
    std::ofstream(root + "/etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n"
                                        << "app:x:1000:1000::/home/app:/bin/sh\n";
    std::ofstream(root + "/etc/group") << "root:x:0:\napp:x:1000:\nextra:x:2000:app,other\n";
    UniqueFd fd = open_file(root, O_RDONLY | O_DIRECTORY);

    oci::ImageConfig ic;
    ic.architecture = "amd64";
    ic.os = "linux";
    ic.config.entrypoint = {"/entry"};
    ic.config.cmd = {"--flag"};
    ic.config.env = {"A=1", "PATH=/custom"};
    ic.config.user = "app";
    ic.config.working_dir = "work";
    ic.config.exposed_ports = {"80/tcp", "53/udp"};
    ic.config.volumes = {"/data"};
    ic.config.labels = {{"org.example", "yes"}};
    ic.config.stop_signal = "SIGQUIT";
    RuntimeConfig rc = make_runtime_config(ic, fd.get());
    const auto& p = rc.spec["process"];
    EXPECT_EQ(p["args"], nlohmann::json::array({"/entry", "--flag"}));
    EXPECT_EQ(p["user"]["uid"], 1000);
    EXPECT_EQ(p["user"]["gid"], 1000);
    EXPECT_EQ(p["user"]["additionalGids"], nlohmann::json::array({2000}));
    EXPECT_EQ(p["cwd"], "/work");
    EXPECT_EQ(p["env"], nlohmann::json::array({"A=1", "PATH=/custom", "HOME=/home/app"}));
    EXPECT_EQ(rc.spec["annotations"]["org.opencontainers.image.exposedPorts"], "80/tcp,53/udp");
    EXPECT_EQ(rc.spec["annotations"]["org.opencontainers.image.stopSignal"], "SIGQUIT");
    EXPECT_EQ(rc.spec["annotations"]["org.example"], "yes");
    EXPECT_EQ(rc.volumes, std::vector<std::string>{"/data"});
    EXPECT_EQ(rc.spec["root"]["readonly"], false);

    RuntimeConfigOptions options;
    options.command = {"sh", "-c", "true"};
    options.entrypoint = std::vector<std::string>{};
    options.user = "1234:2000";
    options.env = {"A=2"};
    rc = make_runtime_config(ic, fd.get(), options);
    EXPECT_EQ(rc.spec["process"]["args"], nlohmann::json::array({"sh", "-c", "true"}));
    EXPECT_EQ(rc.spec["process"]["user"]["uid"], 1234);
    EXPECT_EQ(rc.spec["process"]["user"]["gid"], 2000);
    EXPECT_EQ(rc.spec["process"]["env"][0], "A=2");

    EXPECT_THROW(resolve_user("nobody-here", fd.get()), Error);
    EXPECT_THROW(resolve_user("app:nogroup", fd.get()), Error);
    oci::ImageConfig empty;
    EXPECT_THROW(make_runtime_config(empty, -1), Error);
    fs::remove_all(root);
}

TEST(ReadAhead, DeliversEverythingAndErrors) {
    std::string data(3'000'000, 'x');
    for (size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<char>(i * 7);
    MemorySource source(data);
    ReadAheadSource ahead(source, 4096, 3);
    std::string out;
    char buf[1000];
    while (size_t n = ahead.read(buf, sizeof buf))
        out.append(buf, n);
    EXPECT_EQ(out, data);

    class Failing : public ByteSource {
      public:
        size_t read(void*, size_t) override { throw Error("source broke"); }
    } failing;
    ReadAheadSource broken(failing);
    EXPECT_THROW(broken.read(buf, sizeof buf), Error);
    // Destroyed while the reader is ahead: no hang.
    MemorySource again(data);
    { ReadAheadSource abandoned(again, 4096, 2); }
}

namespace {

SnapshotInfo fill_with(int fs_fd, const Digest& chain, const std::string& name) {
    UniqueFd f(::openat(fs_fd, name.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    if (!f.valid()) throw std::runtime_error("create " + name);
    SnapshotInfo info;
    info.chain_id = chain;
    info.diff_id = chain;
    info.blob = chain;
    return info;
}

bool eventually(const std::function<bool()>& check) {
    for (int i = 0; i < 500; ++i) {
        if (check()) return true;
        ::usleep(10000);
    }
    return check();
}

}  // namespace

TEST_F(ImagesTest, SnapshotsAreFlushedInTheBackgroundAndRedoneAfterAnotherBoot) {
    Snapshots& snapshots = images->snapshots();
    Digest chain = digest_of("chain");
    std::string marker = snapshots.dir(chain) + "/" + kPendingSyncMarker;
    ASSERT_TRUE(snapshots.create(chain, [&](int fd) { return fill_with(fd, chain, "first"); }));
    EXPECT_TRUE(snapshots.has(chain));
    // The detached flush removes the marker once the files are on disk.
    EXPECT_TRUE(eventually([&] { return !fs::exists(marker); })) << marker;
    EXPECT_TRUE(snapshots.has(chain));

    // A marker from another boot: the files may have been lost in a crash, so the snapshot
    // counts as absent and the next unpack replaces it.
    write_file(marker, "another-boot", 0600);
    EXPECT_FALSE(snapshots.has(chain));
    ASSERT_TRUE(snapshots.create(chain, [&](int fd) { return fill_with(fd, chain, "second"); }));
    EXPECT_TRUE(snapshots.has(chain));
    EXPECT_TRUE(fs::exists(snapshots.fs_path(chain) + "/second"));
    EXPECT_FALSE(fs::exists(snapshots.fs_path(chain) + "/first"));
    EXPECT_EQ(snapshots.list().size(), 1u);
}
