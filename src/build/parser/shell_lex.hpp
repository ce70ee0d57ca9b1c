// Variable expansion and word splitting of Containerfile arguments, as BuildKit's frontend
// does it (a small subset of the POSIX shell): single and double quotes, the escape
// character, $VAR and ${VAR}, and the modifiers ${VAR:-word} ${VAR-word} ${VAR:+word}
// ${VAR+word} ${VAR:?msg} ${VAR?msg} ${VAR#pattern} ${VAR##pattern} ${VAR%pattern}
// ${VAR%%pattern} ${VAR/pattern/replacement} ${VAR//pattern/replacement} (patterns: * and ?).
// Expansion never runs a command: `$(...)` and backquotes are plain characters.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "build/parser/environment.hpp"
#include "common/error.hpp"

namespace berth::build {

// A word that cannot be expanded: an unterminated quote, a bad substitution, ${X:?} unset.
class ExpansionError : public Error {
  public:
    using Error::Error;
};

struct LexOptions {
    bool raw_quotes = false;           // keep the quote characters in the result
    bool raw_escapes = false;          // keep the escape characters in the result
    bool skip_process_quotes = false;  // quotes are plain characters
    bool skip_unset_env = false;       // references to unset variables are left as written
};

class ShellLex {
  public:
    explicit ShellLex(char escape = '\\', LexOptions options = {})
        : escape_(escape), options_(options) {}

    // The word with quotes removed and variables expanded (spaces kept).
    [[nodiscard]] std::string process_word(std::string_view word, const Environment& env) const;
    // The same, split into words at unquoted spaces (after expansion: a variable's value
    // splits too, a quoted one does not).
    [[nodiscard]] std::vector<std::string> process_words(std::string_view word,
                                                         const Environment& env) const;
    [[nodiscard]] char escape() const { return escape_; }
    [[nodiscard]] const LexOptions& options() const { return options_; }

  private:
    char escape_;
    LexOptions options_;
};

// Shell pattern matching as ${VAR#pattern} uses it: '*' any string, '?' any character,
// '\' escapes the next one. Exposed for tests.
bool shell_pattern_matches(std::string_view pattern, std::string_view text);

}  // namespace berth::build
