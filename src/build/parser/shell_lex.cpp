#include "build/parser/shell_lex.hpp"

#include <optional>
#include <utility>

namespace berth::build {
namespace {

constexpr int kEnd = -1;

bool is_blank(int c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

bool is_digit(int c) {
    return c >= '0' && c <= '9';
}

// Letters, digits and '_'; bytes of multi-byte UTF-8 characters count as letters (BuildKit
// takes any Unicode letter).
bool is_name_char(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' || c >= 0x80;
}

bool is_special_parameter(int c) {
    switch (c) {
        case '@':
        case '*':
        case '#':
        case '?':
        case '-':
        case '$':
        case '!':
        case '0':
            return true;
        default:
            return false;
    }
}

// The words of a processed string: unquoted spaces separate them; quoted text and escaped
// characters are added raw (a space in them does not split).
class WordSplitter {
  public:
    void add_char(int c) {
        if (is_blank(c)) {
            if (in_word_ && !buffer_.empty()) {
                words_.push_back(std::move(buffer_));
                buffer_.clear();
                in_word_ = false;
            }
        } else {
            add_raw_char(c);
        }
    }
    void add_raw_char(int c) {
        buffer_ += static_cast<char>(c);
        in_word_ = true;
    }
    void add_string(std::string_view s) {
        for (char c : s)
            add_char(static_cast<unsigned char>(c));
    }
    void add_raw_string(std::string_view s) {
        buffer_ += s;
        in_word_ = true;
    }
    std::vector<std::string> finish() {
        if (!buffer_.empty()) {
            words_.push_back(std::move(buffer_));
            buffer_.clear();
            in_word_ = false;
        }
        return std::move(words_);
    }

  private:
    std::string buffer_;
    std::vector<std::string> words_;
    bool in_word_ = false;
};

// A pattern of ${VAR#pattern} and friends, compiled: literal bytes, '*' and '?'.
struct PatternToken {
    enum Kind { literal, any_string, any_char } kind;
    char c = 0;
};

std::vector<PatternToken> compile_pattern(std::string_view pattern) {
    std::vector<PatternToken> tokens;
    for (size_t i = 0; i < pattern.size(); ++i) {
        char c = pattern[i];
        if (c == '*') {
            tokens.push_back({PatternToken::any_string});
        } else if (c == '?') {
            tokens.push_back({PatternToken::any_char});
        } else if (c == '\\') {
            // "\}" and "\/" were escapes of ${...} itself: the character alone.
            if (i + 1 < pattern.size() && (pattern[i + 1] == '}' || pattern[i + 1] == '/'))
                continue;
            if (i + 1 >= pattern.size())
                throw ExpansionError("invalid pattern (" + std::string(pattern) +
                                     ") in substitution: invalid escape at the end");
            char escaped = pattern[++i];
            if (escaped != '*' && escaped != '?' && escaped != '\\')
                throw ExpansionError("invalid pattern (" + std::string(pattern) +
                                     ") in substitution: invalid escape '\\" +
                                     std::string(1, escaped) + "'");
            tokens.push_back({PatternToken::literal, escaped});
        } else {
            tokens.push_back({PatternToken::literal, c});
        }
    }
    return tokens;
}

// Whole-string match with backtracking to the last '*'.
bool tokens_match(const std::vector<PatternToken>& tokens, std::string_view text) {
    size_t t = 0, s = 0;
    std::optional<size_t> star_token;
    size_t star_text = 0;
    while (s < text.size()) {
        if (t < tokens.size() && tokens[t].kind == PatternToken::any_string) {
            star_token = t++;
            star_text = s;
        } else if (t < tokens.size() &&
                   (tokens[t].kind == PatternToken::any_char || tokens[t].c == text[s])) {
            ++t;
            ++s;
        } else if (star_token) {
            t = *star_token + 1;
            s = ++star_text;
        } else {
            return false;
        }
    }
    while (t < tokens.size() && tokens[t].kind == PatternToken::any_string)
        ++t;
    return t == tokens.size();
}

std::string trim_prefix(std::string_view pattern, const std::string& value, bool longest) {
    auto tokens = compile_pattern(pattern);
    size_t n = value.size();
    for (size_t i = 0; i <= n; ++i) {
        size_t len = longest ? n - i : i;
        if (tokens_match(tokens, std::string_view(value).substr(0, len))) return value.substr(len);
    }
    return value;
}

std::string trim_suffix(std::string_view pattern, const std::string& value, bool longest) {
    auto tokens = compile_pattern(pattern);
    size_t n = value.size();
    for (size_t i = 0; i <= n; ++i) {
        size_t len = longest ? n - i : i;
        if (tokens_match(tokens, std::string_view(value).substr(n - len)))
            return value.substr(0, n - len);
    }
    return value;
}

// ${VAR/pattern/replacement}: the leftmost, longest match (every one with all).
std::string replace_pattern(std::string_view pattern, const std::string& value,
                            const std::string& replacement, bool all) {
    auto tokens = compile_pattern(pattern);
    std::string out;
    size_t i = 0;
    bool replaced = false;
    while (i <= value.size()) {
        std::optional<size_t> found;
        if (!replaced || all)
            for (size_t len = value.size() - i + 1; len-- > 0;)
                if (tokens_match(tokens, std::string_view(value).substr(i, len))) {
                    found = len;
                    break;
                }
        if (found && *found > 0) {
            out += replacement;
            i += *found;
            replaced = true;
            continue;
        }
        if (i < value.size()) out += value[i];
        ++i;
    }
    return out;
}

class WordProcessor {
  public:
    WordProcessor(char escape, const LexOptions& options, const Environment& env,
                  std::string_view text)
        : escape_(static_cast<unsigned char>(escape)),
          options_(options),
          env_(env),
          text_(text),
          raw_escapes_(options.raw_escapes) {}

    std::pair<std::string, std::vector<std::string>> process() {
        return process_until(kEnd, raw_escapes_);
    }

  private:
    int peek() const {
        return pos_ < text_.size() ? static_cast<unsigned char>(text_[pos_]) : kEnd;
    }
    int next() { return pos_ < text_.size() ? static_cast<unsigned char>(text_[pos_++]) : kEnd; }

    // Up to stop (consumed) or the end: the text and its words.
    std::pair<std::string, std::vector<std::string>> process_until(int stop, bool raw_escapes) {
        bool saved = std::exchange(raw_escapes_, raw_escapes);
        std::string result;
        WordSplitter words;
        while (peek() != kEnd) {
            int c = peek();
            if (stop != kEnd && c == stop) {
                next();
                raw_escapes_ = saved;
                return {result, words.finish()};
            }
            if (c == '$') {
                std::string value = process_dollar();
                result += value;
                words.add_string(value);
            } else if (c == '<') {
                std::string value = process_possible_heredoc();
                result += value;
                words.add_raw_string(value);
            } else if (!options_.skip_process_quotes && c == '\'') {
                std::string value = process_single_quote();
                result += value;
                words.add_raw_string(value);
            } else if (!options_.skip_process_quotes && c == '"') {
                std::string value = process_double_quote();
                result += value;
                words.add_raw_string(value);
            } else {
                c = next();
                if (c == escape_) {
                    if (raw_escapes_) {
                        words.add_raw_char(c);
                        result += static_cast<char>(c);
                    }
                    c = next();  // an escape at the very end is dropped
                    if (c == kEnd) break;
                    words.add_raw_char(c);
                } else {
                    words.add_char(c);
                }
                result += static_cast<char>(c);
            }
        }
        raw_escapes_ = saved;
        if (stop != kEnd)
            throw ExpansionError("unexpected end of statement while looking for matching " +
                                 std::string(1, static_cast<char>(stop)));
        return {result, words.finish()};
    }

    std::string process_single_quote() {
        // Everything up to the next ' as it is: nothing escapes in single quotes.
        std::string result;
        int c = next();
        if (options_.raw_quotes) result += static_cast<char>(c);
        for (;;) {
            c = next();
            if (c == kEnd)
                throw ExpansionError(
                    "unexpected end of statement while looking for matching single-quote");
            if (c == '\'') {
                if (options_.raw_quotes) result += '\'';
                return result;
            }
            result += static_cast<char>(c);
        }
    }

    std::string process_double_quote() {
        // Variables expand; the escape character escapes only ", $ and itself.
        std::string result;
        int c = next();
        if (options_.raw_quotes) result += static_cast<char>(c);
        for (;;) {
            int p = peek();
            if (p == kEnd)
                throw ExpansionError(
                    "unexpected end of statement while looking for matching double-quote");
            if (p == '"') {
                next();
                if (options_.raw_quotes) result += '"';
                return result;
            }
            if (p == '$') {
                result += process_dollar();
                continue;
            }
            c = next();
            if (c == escape_) {
                if (raw_escapes_) result += static_cast<char>(c);
                int after = peek();
                if (after == kEnd) continue;
                if (after == '"' || after == '$' || after == escape_) c = next();
            }
            result += static_cast<char>(c);
        }
    }

    std::string process_possible_heredoc() {
        next();
        if (peek() != '<') return "<";
        next();
        std::string space;
        while (peek() == ' ' || peek() == '\t' || peek() == '\r')
            space += static_cast<char>(next());
        return "<<" + space;
    }

    std::string process_name() {
        std::string name;
        while (peek() != kEnd) {
            int c = peek();
            if (name.empty() && is_digit(c)) {
                while (peek() != kEnd && is_digit(peek()))
                    name += static_cast<char>(next());
                return name;
            }
            if (name.empty() && is_special_parameter(c)) {
                next();
                return std::string(1, static_cast<char>(c));
            }
            if (!is_name_char(c)) break;
            name += static_cast<char>(next());
        }
        return name;
    }

    std::optional<std::string> lookup(const std::string& name) const { return env_.get(name); }

    std::string process_dollar() {
        next();  // '$'
        if (peek() != '{') {
            std::string name = process_name();
            if (name.empty()) return "$";
            auto value = lookup(name);
            if (!value && options_.skip_unset_env) return "$" + name;
            return value.value_or("");
        }
        next();  // '{'
        int first = peek();
        if (first == kEnd) throw ExpansionError("syntax error: missing '}'");
        if (first == '{' || first == '}' || first == ':')
            throw ExpansionError("syntax error: bad substitution");
        std::string name = process_name();
        int c = next();
        std::string modifier = c == kEnd ? std::string() : std::string(1, static_cast<char>(c));
        if (c == '}') {
            auto value = lookup(name);
            if (!value && options_.skip_unset_env) return "${" + name + "}";
            return value.value_or("");
        }
        if (c == '/') return process_replacement(name);
        bool null_is_unset = false;
        if (c == ':') {
            null_is_unset = true;
            c = next();
            if (c != kEnd) modifier += static_cast<char>(c);
        }
        bool known = c == '+' || c == '-' || c == '?' || c == '#' || c == '%';
        if (!known && !null_is_unset)
            throw ExpansionError("unsupported modifier (" + modifier + ") in substitution");
        bool pattern_modifier = c == '#' || c == '%';
        if (null_is_unset && pattern_modifier)
            throw ExpansionError("unsupported modifier (" + modifier + ") in substitution");
        // ${X:Y...} is read to its brace before it is refused, as BuildKit does.
        std::string word = read_word_to_brace(pattern_modifier);
        auto value = lookup(name);
        if (!value && options_.skip_unset_env) return "${" + name + modifier + word + "}";
        if (!known) throw ExpansionError("unsupported modifier (" + modifier + ") in substitution");
        bool empty_or_unset = !value || (null_is_unset && value->empty());
        switch (c) {
            case '-':
                return empty_or_unset ? word : *value;
            case '+':
                return empty_or_unset ? std::string() : word;
            case '?':
                if (!value)
                    throw ExpansionError(name + ": " +
                                         (word.empty() ? "is not allowed to be unset" : word));
                if (null_is_unset && value->empty())
                    throw ExpansionError(name + ": " +
                                         (word.empty() ? "is not allowed to be empty" : word));
                return *value;
            default: {  // '#' and '%': shortest match; doubled: longest
                bool longest = !word.empty() && word[0] == static_cast<char>(c);
                if (longest) word.erase(0, 1);
                std::string v = value.value_or("");
                return c == '%' ? trim_suffix(word, v, longest) : trim_prefix(word, v, longest);
            }
        }
    }

    std::string read_word_to_brace(bool raw_escapes) {
        try {
            return process_until('}', raw_escapes).first;
        } catch (const ExpansionError&) {
            if (peek() == kEnd) throw ExpansionError("syntax error: missing '}'");
            throw;
        }
    }

    std::string process_replacement(const std::string& name) {
        bool all = peek() == '/';
        if (all) next();
        std::string pattern;
        try {
            pattern = process_until('/', true).first;
        } catch (const ExpansionError&) {
            if (peek() == kEnd) throw ExpansionError("syntax error: missing '/' in ${}");
            throw;
        }
        std::string replacement = read_word_to_brace(true);
        auto value = lookup(name);
        if (!value && options_.skip_unset_env)
            return "${" + name + (all ? "//" : "/") + pattern + "/" + replacement + "}";
        return replace_pattern(pattern, value.value_or(""), replacement, all);
    }

    int escape_;
    const LexOptions& options_;
    const Environment& env_;
    std::string_view text_;
    size_t pos_ = 0;
    bool raw_escapes_;
};

}  // namespace

std::string ShellLex::process_word(std::string_view word, const Environment& env) const {
    try {
        return WordProcessor(escape_, options_, env, word).process().first;
    } catch (const ExpansionError& e) {
        throw ExpansionError("failed to process \"" + std::string(word) + "\": " + e.what());
    }
}

std::vector<std::string> ShellLex::process_words(std::string_view word,
                                                 const Environment& env) const {
    try {
        return WordProcessor(escape_, options_, env, word).process().second;
    } catch (const ExpansionError& e) {
        throw ExpansionError("failed to process \"" + std::string(word) + "\": " + e.what());
    }
}

bool shell_pattern_matches(std::string_view pattern, std::string_view text) {
    return tokens_match(compile_pattern(pattern), text);
}

}  // namespace berth::build
