#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "common/error.hpp"
#include "common/fd_limit.hpp"
#include "common/file.hpp"
#include "common/json_reader.hpp"
#include "common/owned_temp.hpp"
#include "common/path.hpp"
#include "common/strings.hpp"

namespace fs = std::filesystem;
using namespace berth;

TEST(Path, CleanCollapsesDotsAndSlashes) {
    EXPECT_EQ(clean_path("/a//b/./c/../d/"), "/a/b/d");
    EXPECT_EQ(clean_path("/../../etc"), "/etc");
    EXPECT_EQ(clean_path("a/../../b"), "../b");
    EXPECT_EQ(clean_path(""), ".");
    EXPECT_EQ(clean_path("/"), "/");
    EXPECT_EQ(join_path("/root", "../x"), "/x");
    EXPECT_EQ(parent_path("/a/b"), "/a");
    EXPECT_EQ(parent_path("/a"), "/");
    EXPECT_EQ(base_name("/a/b/"), "b");
}

class TempDir : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-unit-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir = tmpl;
    }
    void TearDown() override { fs::remove_all(dir); }
    std::string dir;
};

TEST_F(TempDir, SymlinkCannotEscapeRoot) {
    fs::create_directories(dir + "/root/etc");
    write_file(dir + "/root/etc/inside", "in");
    write_file(dir + "/outside", "out");
    fs::create_symlink("/etc", dir + "/root/abs");         // absolute: must stay in root
    fs::create_symlink("../../..", dir + "/root/etc/up");  // climbs: must stop at root
    UniqueFd root = open_file(dir + "/root", O_PATH | O_DIRECTORY);

    UniqueFd inside = open_in_root(root.get(), "/abs/inside", O_RDONLY);
    EXPECT_EQ(read_fd(inside.get(), "inside"), "in");
    UniqueFd climbed = open_in_root(root.get(), "etc/up/etc/inside", O_RDONLY);
    EXPECT_EQ(read_fd(climbed.get(), "climbed"), "in");
    EXPECT_THROW(open_in_root(root.get(), "etc/up/outside", O_RDONLY), SystemError);
}

TEST_F(TempDir, MkdirAllFollowsSymlinksInsideRootOnly) {
    fs::create_directories(dir + "/root");
    fs::create_symlink("/", dir + "/root/escape");
    UniqueFd root = open_file(dir + "/root", O_PATH | O_DIRECTORY);
    mkdir_all_in_root(root.get(), "/escape/tmp/made/here");
    EXPECT_TRUE(fs::is_directory(dir + "/root/tmp/made/here"));
    EXPECT_FALSE(fs::exists("/tmp/made/here"));
    ensure_file_in_root(root.get(), "/escape/etc/file");
    EXPECT_TRUE(fs::is_regular_file(dir + "/root/etc/file"));
}

TEST_F(TempDir, MkdirAllCreatesDanglingSymlinkTargetsInsideRoot) {
    fs::create_directories(dir + "/root");
    fs::create_symlink(dir + "/outside", dir + "/root/abs");  // absolute, dangling
    fs::create_symlink("../../../up", dir + "/root/rel");     // climbs, dangling
    UniqueFd root = open_file(dir + "/root", O_PATH | O_DIRECTORY);
    mkdir_all_in_root(root.get(), "/abs/x");
    mkdir_all_in_root(root.get(), "/rel/y");
    EXPECT_TRUE(fs::is_directory(dir + "/root" + dir + "/outside/x"));
    EXPECT_TRUE(fs::is_directory(dir + "/root/up/y"));
    EXPECT_FALSE(fs::exists(dir + "/outside"));
}

TEST_F(TempDir, AtomicWriteReplacesWholeFile) {
    std::string path = dir + "/f";
    write_file_atomic(path, "first");
    write_file_atomic(path, "second");
    EXPECT_EQ(read_file(path), "second");
    EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}), 1);
}

TEST_F(TempDir, ReplaceFileSwapsContentAndLeavesNoTempFile) {
    std::string path = dir + "/state.json";
    replace_file(path, "created", 0600);  // no old file: a plain rename
    EXPECT_EQ(read_file(path), "created");
    replace_file(path, "running", 0600);  // an old file: exchanged, then the old one removed
    EXPECT_EQ(read_file(path), "running");
    EXPECT_EQ(fs::status(path).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);
    EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}), 1);
    EXPECT_THROW(replace_file(dir + "/missing/f", "x"), SystemError);
    EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}), 1);
}

TEST(Errors, SystemErrorNamesPathAndReason) {
    try {
        read_file("/nonexistent/berth/file");
        FAIL() << "expected an exception";
    } catch (const SystemError& e) {
        EXPECT_EQ(e.code(), ENOENT);
        EXPECT_EQ(std::string(e.what()), "open /nonexistent/berth/file: No such file or directory");
    }
}

TEST(Strings, ParsesWholeNumbersOnly) {
    EXPECT_EQ(parse_uint64("42"), 42u);
    EXPECT_FALSE(parse_uint64("42x"));
    EXPECT_FALSE(parse_uint64("-1"));
    EXPECT_FALSE(parse_uint64(""));
    EXPECT_EQ(parse_int64("-5"), -5);
    EXPECT_EQ(split("a,,b", ','), (std::vector<std::string>{"a", "", "b"}));
    std::vector<std::string> env{"A=1", "PATH=/bin"};
    EXPECT_EQ(env_lookup(env, "PATH"), "/bin");
    EXPECT_FALSE(env_lookup(env, "PAT"));
    env_set(env, "A", "2");
    EXPECT_EQ(env[0], "A=2");
}

TEST(JsonReader, ErrorsNameTheField) {
    auto doc = nlohmann::json::parse(R"({"a":{"b":[1,"x"]}})");
    JsonReader r(doc, "");
    auto items = r.at("a").at("b").as_array();
    EXPECT_EQ(items[0].as_uint(), 1u);
    try {
        (void)items[1].as_uint();
        FAIL();
    } catch (const InvalidDocument& e) {
        EXPECT_EQ(std::string(e.what()), "a.b[1]: expected a non-negative integer, got string");
    }
    EXPECT_THROW(parse_json("{bad", "cfg.json"), InvalidDocument);
}

TEST(Strings, EscapesBytesThatAreNotUtf8) {
    EXPECT_EQ(escape_invalid_utf8("plain"), "plain");
    EXPECT_EQ(escape_invalid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3"),
              "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3");
    EXPECT_EQ(escape_invalid_utf8("a\xff"), "a\\xff");
    EXPECT_EQ(escape_invalid_utf8("\xc3\x28"), "\\xc3(");                        // bad continuation
    EXPECT_EQ(escape_invalid_utf8("\xc0\xaf"), "\\xc0\\xaf");                    // overlong
    EXPECT_EQ(escape_invalid_utf8("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // a surrogate
    EXPECT_EQ(escape_invalid_utf8("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // > U+10FFFF
    EXPECT_EQ(escape_invalid_utf8("\xe2\x82"), "\\xe2\\x82");                    // cut short
}

TEST(FdLimit, ConnectionCapLeavesRoomForFilesAndTheProcess) {
    EXPECT_EQ(connection_cap(1024, 2), 480U);
    EXPECT_EQ(connection_cap(1024, 3), 320U);
    EXPECT_EQ(connection_cap(524288, 2), 262112U);
    EXPECT_GE(connection_cap(10, 2), 1U);
    // Raising never lowers.
    rlimit before{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &before), 0);
    EXPECT_GE(raise_fd_limit(), before.rlim_cur == RLIM_INFINITY ? 1024 : before.rlim_cur);
}

// A temporary whose maker is alive stays; once its maker is killed, the next sweep removes it.
TEST_F(TempDir, OwnedTemporariesGoWhenTheirMakerDies) {
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    const pid_t maker = ::fork();
    ASSERT_GE(maker, 0);
    if (maker == 0) {
        OwnedTemp file = OwnedTemp::make_file(dir + "/tmp-file");
        OwnedTemp tree = OwnedTemp::make_directory(dir + "/tree");
        ::mkdir((dir + "/tree/sub").c_str(), 0700);
        (void)!::write(ready[1], "x", 1);
        ::pause();
        ::_exit(0);
    }
    ::close(ready[1]);
    char byte = 0;
    ASSERT_EQ(::read(ready[0], &byte, 1), 1);
    ::close(ready[0]);
    // Ours, alive: kept, also by a sweep of this process.
    OwnedTemp mine = OwnedTemp::make_directory(dir + "/mine");
    auto all = [](const std::string&) { return true; };
    EXPECT_EQ(remove_orphaned_temps(dir, all), 0U);
    EXPECT_TRUE(fs::exists(dir + "/tmp-file"));
    EXPECT_TRUE(fs::exists(dir + "/tree/sub"));
    ::kill(maker, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(maker, &status, 0), maker);
    // Only what is_temporary accepts.
    EXPECT_EQ(remove_orphaned_temps(dir, [](const std::string& n) { return n == "tree"; }), 1U);
    EXPECT_FALSE(fs::exists(dir + "/tree"));
    EXPECT_TRUE(fs::exists(dir + "/tmp-file"));
    EXPECT_EQ(remove_orphaned_temps(dir, all), 1U);
    EXPECT_FALSE(fs::exists(dir + "/tmp-file"));
    EXPECT_TRUE(fs::exists(dir + "/mine"));
    // One being born (".new", not locked yet) is left alone for a while.
    ASSERT_EQ(::mkdir((dir + "/born.new").c_str(), 0700), 0);
    EXPECT_EQ(remove_orphaned_temps(dir, all), 0U);
    EXPECT_TRUE(fs::exists(dir + "/born.new"));
}
