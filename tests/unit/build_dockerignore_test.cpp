// .dockerignore patterns (build/dockerignore.hpp) with docker's semantics.
#include <gtest/gtest.h>

#include "build/dockerignore.hpp"
#include "common/error.hpp"

namespace berth::build {
namespace {

bool ignored(const std::vector<std::string>& patterns, const std::string& path) {
    return IgnoreMatcher(patterns).matches(path);
}

TEST(Dockerignore, ReadsPatterns) {
    auto p = read_ignore_patterns(
        "\xEF\xBB\xBF# comment\n"
        "  node_modules  \n"
        "\n"
        "/abs/path\n"
        "!  keep.txt\n"
        "a/./b/../c\n");
    EXPECT_EQ(p, (std::vector<std::string>{"node_modules", "abs/path", "!keep.txt", "a/c"}));
}

TEST(Dockerignore, Basics) {
    EXPECT_TRUE(ignored({"*.md"}, "README.md"));
    EXPECT_FALSE(ignored({"*.md"}, "docs/README.md"));  // '*' does not cross '/'
    EXPECT_TRUE(ignored({"docs"}, "docs/README.md"));   // a directory takes its contents
    EXPECT_TRUE(ignored({"d?cs"}, "docs"));
    EXPECT_FALSE(ignored({"d?cs"}, "d/cs"));
    EXPECT_TRUE(ignored({"[a-c]x"}, "bx"));
    EXPECT_FALSE(ignored({"[a-c]x"}, "dx"));
    EXPECT_TRUE(ignored({"[^a-c]x"}, "dx"));
    EXPECT_TRUE(ignored({"a\\*b"}, "a*b"));
    EXPECT_FALSE(ignored({"a\\*b"}, "axb"));
}

TEST(Dockerignore, DoubleStar) {
    EXPECT_TRUE(ignored({"**/*.go"}, "a/b/c.go"));
    EXPECT_TRUE(ignored({"**/*.go"}, "c.go"));
    EXPECT_TRUE(ignored({"a/**/z"}, "a/z"));
    EXPECT_TRUE(ignored({"a/**/z"}, "a/b/c/z"));
    EXPECT_FALSE(ignored({"a/**/z"}, "b/z"));
    EXPECT_TRUE(ignored({"a/**"}, "a/b/c"));
    EXPECT_TRUE(ignored({"**"}, "anything/at/all"));
    EXPECT_TRUE(ignored({"**/tmp"}, "x/tmp/file"));
}

TEST(Dockerignore, ExceptionsLastMatchWins) {
    std::vector<std::string> p = {"*.md", "!README.md"};
    EXPECT_TRUE(ignored(p, "CHANGES.md"));
    EXPECT_FALSE(ignored(p, "README.md"));
    std::vector<std::string> q = {"*.md", "!README*.md", "README-secret.md"};
    EXPECT_FALSE(ignored(q, "README.md"));
    EXPECT_TRUE(ignored(q, "README-secret.md"));
    std::vector<std::string> dir = {"build", "!build/keep"};
    EXPECT_TRUE(ignored(dir, "build/other"));
    EXPECT_FALSE(ignored(dir, "build/keep"));
    EXPECT_TRUE(IgnoreMatcher(dir).has_exclusions());
    EXPECT_THROW(IgnoreMatcher({"!"}), Error);
    EXPECT_THROW(IgnoreMatcher({"[a-"}), Error);
}

TEST(Dockerignore, ParentResultsAgreeWithFullMatch) {
    IgnoreMatcher m({"a", "!a/b", "**/*.tmp", "c/**", "!c/keep/**"});
    const std::vector<std::string> paths = {"a",   "a/b",    "a/b/x.tmp", "a/c",   "c",
                                            "c/x", "c/keep", "c/keep/y",  "d.tmp", "e/f.tmp"};
    for (const auto& path : paths) {
        // Walk from the top, as the context walker does.
        IgnoreMatcher::ParentResults parent, out;
        bool result = false;
        size_t start = 0;
        for (;;) {
            size_t slash = path.find('/', start);
            std::string prefix = path.substr(0, slash);
            result = m.matches(prefix, parent, out);
            parent = out;
            if (slash == std::string::npos) break;
            start = slash + 1;
        }
        EXPECT_EQ(result, m.matches(path)) << path;
    }
}

}  // namespace
}  // namespace berth::build
