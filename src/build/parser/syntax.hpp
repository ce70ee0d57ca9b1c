// A Containerfile's lines as BuildKit's parser reads them, before any meaning is given to
// them: parser directives (escape, syntax, check), comments, line continuations, heredocs
// (RUN, COPY, ADD and ONBUILD of those), and each instruction's keyword, --flags and
// arguments split the way that instruction splits them (JSON arrays, whitespace, KEY=VALUE
// pairs, one string). instructions.hpp turns these into typed commands.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace berth::build {

// A syntax error: "FILE:LINE:COLUMN: INSTRUCTION: what". line/column are 1-based (0 when
// unknown).
class ParseError : public Error {
  public:
    ParseError(const std::string& file, int line, int column, const std::string& instruction,
               const std::string& message);
    [[nodiscard]] int line() const { return line_; }
    [[nodiscard]] int column() const { return column_; }

  private:
    int line_;
    int column_;
};

struct Heredoc {
    std::string name;
    std::string content;  // every line up to the terminator, with its newline
    bool expand = true;   // false when any part of the name was quoted
    bool chomp = false;   // <<- : leading tabs are removed from every line
};

// Heredoc named by a word such as "<<EOF", "<<-'EOF'" or "<< \"EOF\"": empty name when the
// word is not one.
Heredoc parse_heredoc_word(std::string_view word);
// The content with leading tabs removed from every line (<<-).
std::string chomp_heredoc(std::string_view content);

struct SyntaxNode {
    std::string keyword;               // as written ("RUN", "run", ...)
    std::vector<std::string> flags;    // "--mount=type=cache,target=/x", quotes removed
    std::vector<std::string> args;     // split as the instruction splits its arguments
    bool json = false;                 // the arguments were a JSON array (exec form)
    std::vector<Heredoc> heredocs;     // in the order they appear on the line
    std::vector<SyntaxNode> sub;       // ONBUILD: the instruction it holds (one)
    std::string original;              // the logical line (continuations joined)
    int start_line = 0, end_line = 0;  // 1-based
    int column = 1;                    // of the keyword
    [[nodiscard]] std::string lower_keyword() const;
};

struct SyntaxTree {
    std::vector<SyntaxNode> nodes;
    char escape = '\\';
    std::string syntax;  // the syntax directive's value ("" without one)
    std::vector<std::string> warnings;
};

// file names the Containerfile in errors. Throws ParseError.
SyntaxTree parse_syntax(std::string_view text, const std::string& file);

// The arguments of one logical line for a keyword (used again for ONBUILD triggers).
SyntaxNode parse_line(std::string_view line, char escape, const std::string& file, int line_no,
                      int column);

}  // namespace berth::build
