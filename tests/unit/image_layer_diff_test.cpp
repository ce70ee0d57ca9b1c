// An overlay upper directory as a layer tar (image/layer_diff.hpp) and the compressors
// (image/compress.hpp): entries in order with their metadata, opaque markers, overlay xattrs
// left out, times clamped, and output that depends on the input alone.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/file.hpp"
#include "image/byte_source.hpp"
#include "image/compress.hpp"
#include "image/decompress.hpp"
#include "image/layer_diff.hpp"

namespace fs = std::filesystem;

namespace berth::image {
namespace {

class CollectingSink : public ByteSink {
  public:
    void write(const void* data, size_t size) override {
        bytes.append(static_cast<const char*>(data), size);
    }
    std::string bytes;
};

struct ReadEntry {
    std::string name;
    mode_t type = 0;
    mode_t perm = 0;
    int64_t mtime = 0;
    std::string link;
    std::string hardlink;
    std::string data;
    std::map<std::string, std::string> xattrs;
};

std::vector<ReadEntry> read_tar(const std::string& bytes) {
    std::vector<ReadEntry> out;
    archive* a = archive_read_new();
    archive_read_support_format_tar(a);
    archive_read_open_memory(a, bytes.data(), bytes.size());
    archive_entry* e = nullptr;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        ReadEntry t;
        t.name = archive_entry_pathname(e);
        t.type = archive_entry_filetype(e);
        t.perm = archive_entry_perm(e);
        t.mtime = archive_entry_mtime(e);
        if (archive_entry_symlink(e)) t.link = archive_entry_symlink(e);
        if (archive_entry_hardlink(e)) t.hardlink = archive_entry_hardlink(e);
        const char* name = nullptr;
        const void* value = nullptr;
        size_t size = 0;
        archive_entry_xattr_reset(e);
        while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
            t.xattrs[name] = std::string(static_cast<const char*>(value), size);
        char buffer[4096];
        la_ssize_t n;
        while ((n = archive_read_data(a, buffer, sizeof buffer)) > 0)
            t.data.append(buffer, static_cast<size_t>(n));
        out.push_back(t);
    }
    archive_read_free(a);
    return out;
}

class LayerDiffTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-layer-diff-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        fs::create_directories(dir_ + "/b/sub");
        std::ofstream(dir_ + "/b/sub/file") << "content";
        std::ofstream(dir_ + "/a") << "first";
        fs::create_symlink("a", dir_ + "/link");
        fs::create_hard_link(dir_ + "/a", dir_ + "/hard");
        ::chmod((dir_ + "/a").c_str(), 0640);
        // The opaque marker as a user namespace's overlayfs writes it, and overlay bookkeeping.
        ::setxattr((dir_ + "/b").c_str(), "user.overlay.opaque", "y", 1, 0);
        ::setxattr((dir_ + "/b/sub").c_str(), "user.overlay.impure", "y", 1, 0);
        ::setxattr((dir_ + "/b/sub/file").c_str(), "user.kept", "v", 1, 0);
        timespec times[2] = {{2000000000, 0}, {2000000000, 0}};  // 2033: after the clamp
        ::utimensat(AT_FDCWD, (dir_ + "/a").c_str(), times, AT_SYMLINK_NOFOLLOW);
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string tar(const LayerDiffOptions& options) {
        CollectingSink sink;
        UniqueFd fd = open_file(dir_, O_RDONLY | O_DIRECTORY);
        write_upper_dir_tar(fd.get(), sink, options, "test");
        return sink.bytes;
    }

    std::string dir_;
};

TEST_F(LayerDiffTest, EntriesSortedWithTheirMetadata) {
    auto entries = read_tar(tar({}));
    std::vector<std::string> names;
    for (const auto& e : entries)
        names.push_back(e.name);
    EXPECT_EQ(names, (std::vector<std::string>{"a", "b/", "b/.wh..wh..opq", "b/sub/", "b/sub/file",
                                               "hard", "link"}));
    EXPECT_EQ(entries[0].perm, 0640u);
    EXPECT_EQ(entries[0].data, "first");
    EXPECT_EQ(entries[2].type, static_cast<mode_t>(AE_IFREG));  // the opaque marker
    EXPECT_EQ(entries[5].hardlink, "a");
    EXPECT_EQ(entries[6].link, "a");
    EXPECT_EQ(entries[3].xattrs.count("user.overlay.impure"), 0u);
    EXPECT_EQ(entries[1].xattrs.count("user.overlay.opaque"), 0u);
    EXPECT_EQ(entries[4].xattrs.at("user.kept"), "v");
}

TEST_F(LayerDiffTest, ClampsTimes) {
    LayerDiffOptions o;
    o.clamp_mtime = 1000;
    for (const auto& e : read_tar(tar(o)))
        EXPECT_LE(e.mtime, 1000) << e.name;
}

TEST_F(LayerDiffTest, WhiteoutDevicesBecomeWhiteoutFiles) {
    if (::geteuid() != 0) GTEST_SKIP() << "mknod of a whiteout needs root";
    ASSERT_EQ(::mknod((dir_ + "/gone").c_str(), S_IFCHR | 0, makedev(0, 0)), 0);
    auto entries = read_tar(tar({}));
    bool found = false;
    for (const auto& e : entries)
        if (e.name == ".wh.gone") {
            found = true;
            EXPECT_EQ(e.type, static_cast<mode_t>(AE_IFREG));
        }
    EXPECT_TRUE(found);
}

TEST(Compress, GzipAndZstdRoundTripAndAreDeterministic) {
    std::string input;
    for (int i = 0; i < 100000; ++i)
        input += "line " + std::to_string(i % 977) + "\n";
    for (auto c : {oci::Compression::gzip, oci::Compression::zstd}) {
        CollectingSink a, b;
        {
            auto sink = compressing_sink(c, a);
            sink->write(input.data(), input.size());
            sink->finish();
        }
        {
            auto sink = compressing_sink(c, b);
            sink->write(input.data(), 1000);
            sink->write(input.data() + 1000, input.size() - 1000);
            sink->finish();
        }
        EXPECT_EQ(a.bytes, b.bytes);
        EXPECT_LT(a.bytes.size(), input.size() / 4);
        EXPECT_EQ(detect_compression(a.bytes.data(), a.bytes.size()), c);
        MemorySource compressed(a.bytes);
        auto plain = decompressing_source(compressed, "test");
        std::string back(input.size() + 10, '\0');
        size_t got = read_full(*plain, back.data(), back.size());
        back.resize(got);
        EXPECT_EQ(back, input);
    }
}

}  // namespace
}  // namespace berth::image
