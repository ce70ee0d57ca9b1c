// Variable expansion and word splitting of Containerfile words (build/parser/shell_lex.hpp),
// checked against what BuildKit's frontend makes of the same words.
#include <gtest/gtest.h>

#include "build/parser/shell_lex.hpp"

namespace berth::build {
namespace {

Environment sample_env() {
    return Environment({"PWD=/home", "SHELL=bash", "EMPTY=", "SPACED=a  b c",
                        "PATHV=/usr/local/bin", "FILE=archive.tar.gz"});
}

std::string word(std::string_view text, const Environment& env = sample_env()) {
    return ShellLex().process_word(text, env);
}

std::vector<std::string> words(std::string_view text, const Environment& env = sample_env()) {
    return ShellLex().process_words(text, env);
}

TEST(ShellLex, PlainAndQuotedText) {
    EXPECT_EQ(word("hello"), "hello");
    EXPECT_EQ(word("he'll'o"), "hello");
    EXPECT_EQ(word("\"hel'lo\""), "hel'lo");
    EXPECT_EQ(word("'$PWD'"), "$PWD");
    EXPECT_EQ(word("\"$PWD\""), "/home");
    EXPECT_EQ(word("he\\'llo"), "he'llo");
    EXPECT_EQ(word("abc\\tdef"), "abctdef");        // an unquoted escape keeps the character
    EXPECT_EQ(word("\"abc\\tdef\""), "abc\\tdef");  // in double quotes only " $ \ are escaped
    EXPECT_EQ(word("'abc\\tdef'"), "abc\\tdef");
    EXPECT_EQ(word("hello\\"), "hello");  // a trailing escape is dropped
    EXPECT_EQ(word("hello\\\\"), "hello\\");
}

TEST(ShellLex, UnterminatedQuotesAreErrors) {
    EXPECT_THROW(word("he'llo"), ExpansionError);
    EXPECT_THROW(word("\"hello"), ExpansionError);
    EXPECT_THROW(word("\"hello\\\""), ExpansionError);
    EXPECT_THROW(word("he\\\\'llo"), ExpansionError);
}

TEST(ShellLex, Variables) {
    EXPECT_EQ(word("he$PWD"), "he/home");
    EXPECT_EQ(word("he${PWD}xx"), "he/homexx");
    EXPECT_EQ(word("he$UNSET.x"), "he.x");
    EXPECT_EQ(word("he\\$PWD"), "he$PWD");
    EXPECT_EQ(word("he\\\\$PWD"), "he\\/home");
    EXPECT_EQ(word("$."), "$.");
    EXPECT_EQ(word("he$1x"), "hex");  // positional parameters are never set
    EXPECT_EQ(word("\\${}"), "${}");
    EXPECT_THROW(word("${}"), ExpansionError);
    EXPECT_THROW(word("he${.}"), ExpansionError);
    EXPECT_THROW(word("he${PWD"), ExpansionError);
    EXPECT_EQ(word("${aaa}}"), "}");
}

TEST(ShellLex, DefaultAndAlternativeValues) {
    EXPECT_EQ(word("${UNSET:-000}"), "000");
    EXPECT_EQ(word("${PWD:-000}"), "/home");
    EXPECT_EQ(word("${EMPTY:-x}"), "x");
    EXPECT_EQ(word("${EMPTY-x}"), "");  // set but empty: only ':-' replaces it
    EXPECT_EQ(word("${UNSET-x}"), "x");
    EXPECT_EQ(word("${UNSET:-${PWD:-yyy}}"), "/home");
    EXPECT_EQ(word("${UNSET:-${NONE:-yyy}}"), "yyy");
    EXPECT_EQ(word("${PWD:+000}"), "000");
    EXPECT_EQ(word("${UNSET:+000}"), "");
    EXPECT_EQ(word("${EMPTY+set}"), "set");
    EXPECT_EQ(word("${EMPTY:+set}"), "");
    EXPECT_EQ(word("${PWD:+${SHELL}}xx"), "bashxx");
    EXPECT_EQ(word("${UNSET:-\\$PWD:}xx"), "$PWD:xx");
    EXPECT_THROW(word("${PWD:=000}"), ExpansionError);
    EXPECT_THROW(word("${XXX:YYY}"), ExpansionError);
}

TEST(ShellLex, RequiredValues) {
    EXPECT_EQ(word("${PWD?}"), "/home");
    EXPECT_EQ(word("${EMPTY?}"), "");
    EXPECT_THROW(word("${UNSET?}"), ExpansionError);
    EXPECT_THROW(word("${EMPTY:?}"), ExpansionError);
    try {
        (void)word("${UNSET:?give it a value}");
        FAIL() << "no error";
    } catch (const ExpansionError& e) {
        EXPECT_NE(std::string(e.what()).find("UNSET: give it a value"), std::string::npos)
            << e.what();
    }
}

TEST(ShellLex, PatternRemoval) {
    EXPECT_EQ(word("${FILE#*.}"), "tar.gz");
    EXPECT_EQ(word("${FILE##*.}"), "gz");
    EXPECT_EQ(word("${FILE%.*}"), "archive.tar");
    EXPECT_EQ(word("${FILE%%.*}"), "archive");
    EXPECT_EQ(word("${PATHV#/usr}"), "/local/bin");
    EXPECT_EQ(word("${PATHV%/bin}"), "/usr/local");
    EXPECT_EQ(word("${PATHV#nomatch}"), "/usr/local/bin");
    EXPECT_EQ(word("${FILE%.t?r.gz}"), "archive");
    EXPECT_EQ(word("${UNSET#x}"), "");
    EXPECT_THROW(word("${FILE:#x}"), ExpansionError);
}

TEST(ShellLex, PatternReplacement) {
    EXPECT_EQ(word("${FILE/a/A}"), "Archive.tar.gz");
    EXPECT_EQ(word("${FILE//a/A}"), "Archive.tAr.gz");
    EXPECT_EQ(word("${PATHV/\\/usr/}"), "/local/bin");
}

TEST(ShellLex, WordSplitting) {
    EXPECT_EQ(words("hello there"), (std::vector<std::string>{"hello", "there"}));
    EXPECT_EQ(words("hello\\ there"), (std::vector<std::string>{"hello there"}));
    EXPECT_EQ(words("hello\" there  \""), (std::vector<std::string>{"hello there  "}));
    // An unquoted variable's value splits; a quoted one does not.
    EXPECT_EQ(words("x${SPACED}y"), (std::vector<std::string>{"xa", "b", "cy"}));
    EXPECT_EQ(words("x\"${SPACED}\"y"), (std::vector<std::string>{"xa  b cy"}));
}

TEST(ShellLex, SkipUnsetLeavesReferences) {
    ShellLex lex('\\', {.skip_unset_env = true});
    Environment env({"A=1"});
    EXPECT_EQ(lex.process_word("$A $B ${C} ${D:-x}", env), "1 $B ${C} ${D:-x}");
}

TEST(ShellLex, BacktickEscape) {
    ShellLex lex('`');
    EXPECT_EQ(lex.process_word("a`$PWD b\\c", sample_env()), "a$PWD b\\c");
}

TEST(ShellLex, Patterns) {
    EXPECT_TRUE(shell_pattern_matches("*.tar", "a.tar"));
    EXPECT_TRUE(shell_pattern_matches("a?c", "abc"));
    EXPECT_FALSE(shell_pattern_matches("a?c", "ac"));
    EXPECT_TRUE(shell_pattern_matches("a\\*", "a*"));
    EXPECT_FALSE(shell_pattern_matches("a\\*", "ab"));
}

}  // namespace
}  // namespace berth::build
