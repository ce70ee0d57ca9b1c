// Layer application: entry types and metadata, compression, whiteouts, and every way an
// entry could try to leave the directory.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>

#include "common/file.hpp"
#include "common/remove_tree.hpp"
#include "image/layer_unpack.hpp"
#include "support/tar_builder.hpp"

namespace fs = std::filesystem;
using namespace berth;
using namespace berth::image;
using namespace berth::test;

namespace {

class LayerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-layer-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        base = tmpl;
        root = base + "/root";
        fs::create_directories(root);
        fs::create_directories(base + "/outside");
    }
    void TearDown() override { remove_tree(base); }  // copes with the 0555 directories

    UnpackResult apply(const std::string& tar, WhiteoutMode mode = WhiteoutMode::remove,
                       const std::optional<Digest>& diff_id = std::nullopt) {
        UniqueFd fd = open_file(root, O_RDONLY | O_DIRECTORY);
        MemorySource source(tar);
        return unpack_layer(source, fd.get(), mode, diff_id, "layer test");
    }
    std::string error_of(const std::string& tar, WhiteoutMode mode = WhiteoutMode::remove) {
        try {
            apply(tar, mode);
        } catch (const std::exception& e) {
            return e.what();
        }
        return "";
    }
    bool outside_untouched() { return fs::is_empty(base + "/outside"); }

    std::string base, root;
};

struct stat lstat_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st;
}

}  // namespace

TEST_F(LayerTest, AppliesEntriesWithMetadata) {
    TarEntry exe = tar_file("usr/bin/tool", "#!/bin/sh\n", 04755);
    exe.mtime = 1600000000;
    TarEntry fifo;
    fifo.name = "run/fifo";
    fifo.type = 'p';
    fifo.mode = 0600;
    TarEntry attrs = tar_file("etc/attrs", "x");
    attrs.xattrs["user.berth"] = "value";
    std::string tar = make_tar(
        {tar_dir("usr/", 0755), tar_dir("usr/bin/", 0711), exe, tar_symlink("usr/bin/link", "tool"),
         tar_hardlink("usr/bin/hard", "usr/bin/tool"), tar_dir("run/", 0755), fifo,
         tar_dir("etc/", 0755), attrs, tar_dir("ro/", 0555), tar_file("ro/inside", "in", 0444)});
    UnpackResult r = apply(tar);
    EXPECT_EQ(r.diff_id, digest_of(tar));
    EXPECT_EQ(r.size, static_cast<int64_t>(tar.size()));
    EXPECT_EQ(read_file(root + "/usr/bin/tool"), "#!/bin/sh\n");
    struct stat st = lstat_of(root + "/usr/bin/tool");
    EXPECT_EQ(st.st_mode & 07777, ::geteuid() == 0 ? 04755u : 04755u & 07777);
    EXPECT_EQ(st.st_mtime, 1600000000);
    EXPECT_EQ(lstat_of(root + "/usr/bin").st_mode & 07777, 0711u);
    EXPECT_EQ(fs::read_symlink(root + "/usr/bin/link"), "tool");
    EXPECT_EQ(lstat_of(root + "/usr/bin/hard").st_ino, st.st_ino);
    EXPECT_TRUE(S_ISFIFO(lstat_of(root + "/run/fifo").st_mode));
    EXPECT_EQ(lstat_of(root + "/ro").st_mode & 07777, 0555u);
    EXPECT_EQ(read_file(root + "/ro/inside"), "in");
    char value[16] = {};
    ssize_t n = ::getxattr((root + "/etc/attrs").c_str(), "user.berth", value, sizeof value);
    if (n >= 0) {
        EXPECT_EQ(std::string(value, static_cast<size_t>(n)), "value");
    }
}

TEST_F(LayerTest, OwnersAndDevicesAsRoot) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    TarEntry owned = tar_file("owned", "x");
    owned.uid = 1234;
    owned.gid = 5678;
    TarEntry dev;
    dev.name = "null";
    dev.type = 'c';
    dev.mode = 0666;
    dev.dev_major = 1;
    dev.dev_minor = 3;
    apply(make_tar({owned, dev}));
    struct stat st = lstat_of(root + "/owned");
    EXPECT_EQ(st.st_uid, 1234u);
    EXPECT_EQ(st.st_gid, 5678u);
    struct stat d = lstat_of(root + "/null");
    EXPECT_TRUE(S_ISCHR(d.st_mode));
    EXPECT_EQ(major(d.st_rdev), 1u);
    EXPECT_EQ(minor(d.st_rdev), 3u);
}

TEST_F(LayerTest, GzipAndZstdLayersGiveTheSameTreeAndDiffId) {
    std::vector<TarEntry> entries{tar_dir("a/"), tar_file("a/b", std::string(100000, 'z'))};
    std::string plain = make_tar(entries);
    for (auto c : {TarCompression::gzip, TarCompression::zstd}) {
        fs::remove_all(root);
        fs::create_directories(root);
        std::string compressed = make_tar(entries, c);
        EXPECT_NE(compressed, plain);
        UnpackResult r = apply(compressed, WhiteoutMode::remove, digest_of(plain));
        EXPECT_EQ(r.diff_id, digest_of(plain));
        EXPECT_EQ(read_file(root + "/a/b"), std::string(100000, 'z'));
    }
}

TEST_F(LayerTest, ZeroPaddingAfterCompressedDataIsAccepted) {
    std::vector<TarEntry> entries{tar_file("x", "data")};
    for (auto c : {TarCompression::gzip, TarCompression::zstd}) {
        std::string padded = make_tar(entries, c) + std::string(9000, '\0');
        EXPECT_EQ(apply(padded).diff_id, digest_of(make_tar(entries)));
        EXPECT_EQ(error_of(make_tar(entries, c) + "junk").rfind("layer test: ", 0), 0u);
    }
}

TEST_F(LayerTest, DiffIdMismatchIsAnError) {
    std::string tar = make_tar({tar_file("x", "1")});
    Digest wrong = digest_of("nope");
    std::string e;
    try {
        apply(tar, WhiteoutMode::remove, wrong);
    } catch (const LayerError& err) {
        e = err.what();
    }
    EXPECT_NE(e.find("layer test: diff ID mismatch: the config says " + wrong.str()),
              std::string::npos)
        << e;
}

TEST_F(LayerTest, TruncatedAndCorruptInput) {
    auto check = [&](const std::string& input, const std::string& part) {
        std::string e = error_of(input);
        EXPECT_NE(e.find(part), std::string::npos) << e;
    };
    std::string noise(200000, '\0');
    for (size_t i = 0; i < noise.size(); ++i)
        noise[i] = static_cast<char>((i * 2654435761u) >> 13);
    std::string gz = make_tar({tar_file("x", noise)}, TarCompression::gzip);
    check(gz.substr(0, gz.size() / 2), "gzip data is truncated");
    std::string zs = make_tar({tar_file("x", noise)}, TarCompression::zstd);
    check(zs.substr(0, zs.size() / 2), "zstd data is truncated");
    std::string tar = make_tar({tar_file("x", std::string(20000, 'q'))});
    EXPECT_NE(error_of(tar.substr(0, 5000)).find("layer test"), std::string::npos);
    std::string garbage(4096, '\x07');
    EXPECT_NE(error_of(garbage).find("layer test"), std::string::npos);
}

TEST_F(LayerTest, WhiteoutsRemoveLowerContent) {
    apply(make_tar({tar_dir("etc/"), tar_file("etc/motd", "hi"), tar_file("etc/keep", "k"),
                    tar_dir("opt/"), tar_dir("opt/old/"), tar_file("opt/old/file", "o"),
                    tar_file("opt/lower", "l")}));
    apply(make_tar({tar_dir("etc/"), tar_file("etc/.wh.motd", ""), tar_dir("opt/"),
                    tar_file("opt/new", "n"), tar_file("opt/.wh..wh..opq", ""),
                    tar_file("opt/after", "a"), tar_file("missing/.wh.nothing", "")}));
    EXPECT_FALSE(fs::exists(root + "/etc/motd"));
    EXPECT_TRUE(fs::exists(root + "/etc/keep"));
    // Opaque: lower entries gone, this layer's kept (before and after the marker).
    EXPECT_FALSE(fs::exists(root + "/opt/old"));
    EXPECT_FALSE(fs::exists(root + "/opt/lower"));
    EXPECT_EQ(read_file(root + "/opt/new"), "n");
    EXPECT_EQ(read_file(root + "/opt/after"), "a");
    EXPECT_FALSE(fs::exists(root + "/opt/.wh..wh..opq"));
    EXPECT_FALSE(fs::exists(root + "/etc/.wh.motd"));
    EXPECT_FALSE(fs::exists(root + "/missing"));
}

TEST_F(LayerTest, WhiteoutNeverHidesItsOwnLayer) {
    apply(make_tar({tar_file("f", "lower")}));
    apply(make_tar({tar_file("f", "upper"), tar_file(".wh.f", "")}));
    EXPECT_EQ(read_file(root + "/f"), "upper");
}

TEST_F(LayerTest, OverlayModeWritesOverlayMarkers) {
    if (::geteuid() != 0) GTEST_SKIP() << "whiteout devices need CAP_MKNOD";
    apply(make_tar({tar_dir("etc/"), tar_file("etc/.wh.motd", ""), tar_dir("opt/"),
                    tar_file("opt/.wh..wh..opq", ""), tar_file("opt/new", "n")}),
          WhiteoutMode::overlay);
    struct stat st = lstat_of(root + "/etc/motd");
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(st.st_rdev, makedev(0, 0));
    char value[4] = {};
    ASSERT_EQ(::getxattr((root + "/opt").c_str(), "trusted.overlay.opaque", value, sizeof value),
              1);
    EXPECT_EQ(value[0], 'y');
    EXPECT_EQ(read_file(root + "/opt/new"), "n");
}

TEST_F(LayerTest, ReplacesFilesByDirsAndBack) {
    apply(make_tar({tar_file("a", "file"), tar_dir("b/"), tar_file("b/inner", "i")}));
    apply(make_tar({tar_dir("a/"), tar_file("a/x", "x"), tar_file("b", "now a file")}));
    EXPECT_EQ(read_file(root + "/a/x"), "x");
    EXPECT_EQ(read_file(root + "/b"), "now a file");
}

TEST_F(LayerTest, DotDotEntriesAreRejected) {
    std::string e = error_of(make_tar({tar_file("../outside/evil", "x")}));
    EXPECT_EQ(e,
              "layer test: entry \"../outside/evil\": name climbs out of the layer root with "
              "\"..\"");
    EXPECT_TRUE(outside_untouched());
    e = error_of(make_tar({tar_dir("a/"), tar_file("a/../../outside/evil", "x")}));
    EXPECT_NE(e.find("entry \"a/../../outside/evil\""), std::string::npos);
    EXPECT_TRUE(outside_untouched());
}

TEST_F(LayerTest, AbsoluteNamesStayInside) {
    apply(make_tar({tar_file("/etc/abs", "inside")}));
    EXPECT_EQ(read_file(root + "/etc/abs"), "inside");
}

TEST_F(LayerTest, AbsoluteSymlinkEscapeIsRejected) {
    std::string e = error_of(
        make_tar({tar_symlink("escape", base + "/outside"), tar_file("escape/evil", "x")}));
    EXPECT_EQ(e, "layer test: entry \"escape/evil\": goes through the symlink \"escape\" -> \"" +
                     base + "/outside\", which points out of the layer root");
    EXPECT_TRUE(outside_untouched());
    e = error_of(make_tar({tar_symlink("root", "/"), tar_file("root/etc/evil", "x")}));
    EXPECT_NE(e.find("entry \"root/etc/evil\": goes through the symlink \"root\" -> \"/\""),
              std::string::npos);
}

TEST_F(LayerTest, ClimbingSymlinkEscapeIsRejected) {
    std::string e = error_of(make_tar(
        {tar_dir("d/"), tar_symlink("d/up", "../../outside"), tar_file("d/up/evil", "x")}));
    EXPECT_NE(e.find("goes through the symlink \"d/up\" -> \"../../outside\""), std::string::npos)
        << e;
    EXPECT_TRUE(outside_untouched());
}

TEST_F(LayerTest, SymlinkFromAnEarlierLayerIsCheckedToo) {
    apply(make_tar({tar_symlink("planted", base + "/outside")}));
    std::string e = error_of(make_tar({tar_file("planted/evil", "x")}));
    EXPECT_NE(e.find("goes through the symlink \"planted\""), std::string::npos) << e;
    EXPECT_TRUE(outside_untouched());
}

TEST_F(LayerTest, InnerSymlinksAreFollowedInside) {
    apply(make_tar({tar_dir("usr/"), tar_dir("usr/lib/"), tar_symlink("lib", "usr/lib"),
                    tar_file("lib/x", "x")}));
    EXPECT_EQ(read_file(root + "/usr/lib/x"), "x");
    EXPECT_TRUE(fs::is_symlink(root + "/lib"));
}

TEST_F(LayerTest, HardlinkEscapesAreRejected) {
    std::string e = error_of(make_tar({tar_hardlink("h", "../outside/x")}));
    EXPECT_NE(e.find("entry \"h\": name climbs out"), std::string::npos) << e;
    e = error_of(make_tar({tar_hardlink("h", "/etc/passwd")}));
    EXPECT_NE(e.find("entry \"h\""), std::string::npos) << e;
    EXPECT_FALSE(fs::exists(root + "/h"));
    e = error_of(make_tar({tar_symlink("out", base + "/outside"), tar_hardlink("h", "out/x")}));
    EXPECT_NE(e.find("goes through the symlink \"out\""), std::string::npos) << e;
}

TEST_F(LayerTest, WhiteoutThroughEscapingSymlinkIsRejected) {
    fs::create_directories(base + "/outside/victim");
    std::string e =
        error_of(make_tar({tar_symlink("out", base + "/outside"), tar_file("out/.wh.victim", "")}));
    EXPECT_NE(e.find("goes through the symlink"), std::string::npos) << e;
    EXPECT_TRUE(fs::exists(base + "/outside/victim"));
}
