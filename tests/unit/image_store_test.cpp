// The content store: verified writes, nothing partial visible, followers, locks.
#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "common/file.hpp"
#include "image/content_store.hpp"

namespace fs = std::filesystem;
using namespace berth;
using namespace berth::image;

namespace {

class StoreTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-store-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir = tmpl;
    }
    void TearDown() override { fs::remove_all(dir); }

    // Files under blobs/, temp ones included: what a reader could see.
    size_t visible_files() {
        size_t n = 0;
        for (const auto& e : fs::recursive_directory_iterator(dir + "/blobs"))
            if (e.is_regular_file()) ++n;
        return n;
    }
    std::string dir;
};

}  // namespace

TEST_F(StoreTest, PutVerifiesAndStoresByDigest) {
    ContentStore store(dir);
    Digest d = store.put("hello");
    EXPECT_EQ(d, digest_of("hello"));
    EXPECT_TRUE(store.has(d));
    EXPECT_EQ(store.read(d), "hello");
    EXPECT_EQ(store.size(d), 5);
    EXPECT_EQ(read_file(dir + "/blobs/sha256/" + d.hex()), "hello");
    EXPECT_EQ(store.list(), std::vector<Digest>{d});
    // Storing it again is fine.
    EXPECT_EQ(store.put("hello", d), d);
}

TEST_F(StoreTest, DigestMismatchLeavesNothing) {
    ContentStore store(dir);
    Digest wrong = digest_of("other");
    try {
        store.put("hello", wrong);
        FAIL();
    } catch (const BlobVerificationError& e) {
        EXPECT_EQ(std::string(e.what()), "blob " + wrong.str() +
                                             ": digest mismatch: the content hashes to " +
                                             digest_of("hello").str());
    }
    EXPECT_FALSE(store.has(wrong));
    EXPECT_EQ(visible_files(), 0u);
}

TEST_F(StoreTest, TruncatedAndOversizedBlobsAreRejected) {
    ContentStore store(dir);
    Digest d = digest_of("hello");
    {
        BlobWriter w = store.writer(d, 10, "blob x");
        w.write("hello", 5);
        try {
            w.commit();
            FAIL();
        } catch (const BlobVerificationError& e) {
            EXPECT_STREQ(e.what(), "blob x: truncated: got 5 of 10 bytes");
        }
    }
    {
        BlobWriter w = store.writer(d, 3, "blob y");
        EXPECT_THROW(w.write("hello", 5), BlobVerificationError);
    }
    EXPECT_FALSE(store.has(d));
    EXPECT_EQ(visible_files(), 0u);
}

TEST_F(StoreTest, AbandonedWriterLeavesNothing) {
    ContentStore store(dir);
    {
        BlobWriter w = store.writer(std::nullopt, std::nullopt, "blob z");
        w.write("partial", 7);
    }
    EXPECT_EQ(visible_files(), 0u);
    EXPECT_TRUE(store.list().empty());
}

TEST_F(StoreTest, FollowerReadsWhileWriting) {
    ContentStore store(dir);
    std::string data(300000, 'x');
    for (size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<char>('a' + i % 26);
    BlobWriter w = store.writer(digest_of(data), static_cast<int64_t>(data.size()), "blob f");
    auto follower = w.follow();
    std::string seen;
    std::thread reader([&] {
        char buf[4096];
        while (size_t n = follower->read(buf, sizeof buf))
            seen.append(buf, n);
    });
    for (size_t off = 0; off < data.size(); off += 7000)
        w.write(data.data() + off, std::min<size_t>(7000, data.size() - off));
    w.commit();
    reader.join();
    EXPECT_EQ(seen, data);
}

TEST_F(StoreTest, FollowerSeesFailure) {
    ContentStore store(dir);
    auto w = std::make_unique<BlobWriter>(store.writer(std::nullopt, 100, "blob g"));
    auto follower = w->follow();
    w->write("abc", 3);
    w->fail("blob g: connection reset");
    char buf[16];
    try {
        follower->read(buf, sizeof buf);
        FAIL();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "blob g: connection reset");
    }
}

TEST_F(StoreTest, LockSerialisesWork) {
    ContentStore store(dir);
    Digest d = digest_of("x");
    std::atomic<int> inside{0}, max_inside{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&] {
            FileLock lock = store.lock(d);
            int now = ++inside;
            max_inside = std::max(max_inside.load(), now);
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            --inside;
        });
    for (auto& t : threads)
        t.join();
    EXPECT_EQ(max_inside.load(), 1);
}
