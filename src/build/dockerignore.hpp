// .dockerignore / .containerignore: which context paths COPY and ADD cannot see, with
// docker's rules (moby/patternmatcher): patterns are cleaned paths relative to the context
// ("/a" is "a"), '*' and '?' stop at '/', "[a-z]" classes, '\' escapes, "**" spans any
// number of directories, "!pattern" re-includes, the last matching pattern decides, and a
// pattern that matches a directory excludes everything below it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace berth::build {

// The patterns of an ignore file: comments (#...) and blank lines dropped, whitespace
// trimmed, paths cleaned and made relative ("!" kept in front).
std::vector<std::string> read_ignore_patterns(std::string_view text);

class IgnoreMatcher {
  public:
    IgnoreMatcher() = default;
    // Throws Error naming a malformed pattern.
    explicit IgnoreMatcher(const std::vector<std::string>& patterns);

    [[nodiscard]] bool empty() const { return patterns_.empty(); }
    [[nodiscard]] bool has_exclusions() const { return exclusions_; }

    // Whether path (slash-separated, relative to the context) is ignored, itself or through
    // one of its parent directories.
    [[nodiscard]] bool matches(std::string_view path) const;

    // The same while walking a tree top-down: parent holds the results of the directory
    // that contains path (empty for a top-level entry); out receives path's, for its children.
    struct ParentResults {
        std::vector<bool> matched;
    };
    [[nodiscard]] bool matches(std::string_view path, const ParentResults& parent,
                               ParentResults& out) const;

    struct Token {
        enum Kind { literal, star, any_char, any_dirs, rest, char_class } kind = literal;
        char c = 0;
        std::vector<std::pair<char, char>> ranges;  // char_class
        bool negated = false;
    };
    struct Pattern {
        std::string text;
        bool exclusion = false;  // "!pattern"
        enum class Type { exact, prefix, suffix, tokens } type = Type::exact;
        std::vector<Token> tokens;
    };

  private:
    [[nodiscard]] static bool match_one(const Pattern& p, std::string_view path);
    std::vector<Pattern> patterns_;
    bool exclusions_ = false;
};

}  // namespace berth::build
