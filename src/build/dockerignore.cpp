#include "build/dockerignore.hpp"

#include "common/error.hpp"
#include "common/path.hpp"
#include "common/strings.hpp"

namespace berth::build {
namespace {

using Token = IgnoreMatcher::Token;
using Pattern = IgnoreMatcher::Pattern;

Token make_token(Token::Kind kind, char c = 0) {
    Token t;
    t.kind = kind;
    t.c = c;
    return t;
}

// "[...]": the class after '[' (at), up to its ']'. Throws on an unterminated one.
Token parse_class(std::string_view p, size_t& at, const std::string& whole) {
    Token t;
    t.kind = Token::char_class;
    if (at < p.size() && p[at] == '^') {
        t.negated = true;
        ++at;
    }
    bool first = true;
    for (;;) {
        if (at >= p.size()) throw Error("bad pattern \"" + whole + "\": unterminated [");
        char c = p[at];
        if (c == ']' && !first) {
            ++at;
            return t;
        }
        first = false;
        if (c == '\\') {
            if (at + 1 >= p.size()) throw Error("bad pattern \"" + whole + "\": trailing \\");
            c = p[++at];
        }
        ++at;
        char hi = c;
        if (at + 1 < p.size() && p[at] == '-' && p[at + 1] != ']') {
            hi = p[at + 1];
            if (hi == '\\') {
                if (at + 2 >= p.size()) throw Error("bad pattern \"" + whole + "\": trailing \\");
                hi = p[at + 2];
                ++at;
            }
            at += 2;
        }
        t.ranges.emplace_back(c, hi);
    }
}

Pattern compile(const std::string& text, bool exclusion) {
    Pattern p;
    p.text = text;
    p.exclusion = exclusion;
    using Type = Pattern::Type;
    std::string_view s = text;
    size_t pos = 0;
    bool first = true;
    while (pos < s.size()) {
        char c = s[pos++];
        if (c == '*') {
            if (pos < s.size() && s[pos] == '*') {
                ++pos;
                if (pos < s.size() && s[pos] == '/') ++pos;
                if (pos >= s.size()) {
                    // "**" at the end: everything below (gitignore's sense).
                    if (p.type == Type::exact) {
                        p.type = Type::prefix;
                    } else {
                        p.tokens.push_back(make_token(Token::rest));
                        p.type = Type::tokens;
                    }
                } else {
                    p.tokens.push_back(make_token(Token::any_dirs));
                    p.type = Type::tokens;
                }
                if (first) p.type = Type::suffix;
            } else {
                p.tokens.push_back(make_token(Token::star));
                p.type = Type::tokens;
            }
        } else if (c == '?') {
            p.tokens.push_back(make_token(Token::any_char));
            p.type = Type::tokens;
        } else if (c == '\\') {
            if (pos < s.size()) {
                p.tokens.push_back(make_token(Token::literal, s[pos++]));
                p.type = Type::tokens;
            } else {
                throw Error("bad pattern \"" + text + "\": trailing \\");
            }
        } else if (c == '[') {
            p.tokens.push_back(parse_class(s, pos, text));
            p.type = Type::tokens;
        } else {
            p.tokens.push_back(make_token(Token::literal, c));
        }
        first = false;
    }
    return p;
}

bool class_matches(const Token& t, char c) {
    bool in = false;
    for (const auto& [lo, hi] : t.ranges)
        if (c >= lo && c <= hi) in = true;
    return in != t.negated;
}

bool match_tokens(const std::vector<Token>& tokens, size_t ti, std::string_view s, size_t si) {
    while (ti < tokens.size()) {
        const Token& t = tokens[ti];
        switch (t.kind) {
            case Token::literal:
                if (si >= s.size() || s[si] != t.c) return false;
                ++ti;
                ++si;
                break;
            case Token::any_char:
                if (si >= s.size() || s[si] == '/') return false;
                ++ti;
                ++si;
                break;
            case Token::char_class:
                if (si >= s.size() || !class_matches(t, s[si])) return false;
                ++ti;
                ++si;
                break;
            case Token::star:
                for (size_t k = si;; ++k) {
                    if (match_tokens(tokens, ti + 1, s, k)) return true;
                    if (k >= s.size() || s[k] == '/') return false;
                }
            case Token::any_dirs:
                // (.*/)? : nothing, or anything up to and including a '/'.
                if (match_tokens(tokens, ti + 1, s, si)) return true;
                for (size_t k = si; k < s.size(); ++k)
                    if (s[k] == '/' && match_tokens(tokens, ti + 1, s, k + 1)) return true;
                return false;
            case Token::rest:
                return true;
        }
    }
    return si == s.size();
}

}  // namespace

std::vector<std::string> read_ignore_patterns(std::string_view text) {
    std::vector<std::string> out;
    bool first_line = true;
    size_t start = 0;
    while (start <= text.size()) {
        size_t nl = text.find('\n', start);
        std::string_view line =
            text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
        start = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
        if (first_line && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
        first_line = false;
        if (line.starts_with("#")) continue;
        std::string_view pattern = trim(line);
        if (pattern.empty()) continue;
        bool invert = pattern[0] == '!';
        if (invert) pattern = trim(pattern.substr(1));
        std::string cleaned;
        if (!pattern.empty()) {
            cleaned = clean_path(pattern);
            if (cleaned.size() > 1 && cleaned[0] == '/') cleaned.erase(0, 1);
        }
        out.push_back(invert ? "!" + cleaned : cleaned);
    }
    return out;
}

IgnoreMatcher::IgnoreMatcher(const std::vector<std::string>& patterns) {
    for (const auto& raw : patterns) {
        std::string p(trim(raw));
        if (p.empty()) continue;
        p = clean_path(p);
        bool exclusion = false;
        if (p[0] == '!') {
            if (p.size() == 1) throw Error("illegal exclusion pattern: \"!\"");
            exclusion = true;
            exclusions_ = true;
            p.erase(0, 1);
        }
        patterns_.push_back(compile(p, exclusion));
    }
}

bool IgnoreMatcher::match_one(const Pattern& p, std::string_view path) {
    switch (p.type) {
        case Pattern::Type::exact:
            return path == p.text;
        case Pattern::Type::prefix:
            return path.starts_with(std::string_view(p.text).substr(0, p.text.size() - 2));
        case Pattern::Type::suffix: {
            std::string_view suffix = std::string_view(p.text).substr(2);
            if (path.ends_with(suffix)) return true;
            return !suffix.empty() && suffix[0] == '/' && path == suffix.substr(1);
        }
        case Pattern::Type::tokens:
            return match_tokens(p.tokens, 0, path, 0);
    }
    return false;
}

bool IgnoreMatcher::matches(std::string_view path) const {
    bool matched = false;
    for (const auto& p : patterns_) {
        // An inclusion cannot change an already ignored path, nor an exclusion a kept one.
        if (p.exclusion != matched) continue;
        bool match = match_one(p, path);
        if (!match) {
            // Or one of its parent directories.
            for (size_t slash = path.find('/'); slash != std::string_view::npos;
                 slash = path.find('/', slash + 1))
                if (match_one(p, path.substr(0, slash))) {
                    match = true;
                    break;
                }
        }
        if (match) matched = !p.exclusion;
    }
    return matched;
}

bool IgnoreMatcher::matches(std::string_view path, const ParentResults& parent,
                            ParentResults& out) const {
    out.matched.assign(patterns_.size(), false);
    bool matched = false;
    for (size_t i = 0; i < patterns_.size(); ++i) {
        const Pattern& p = patterns_[i];
        bool match = !parent.matched.empty() && parent.matched[i];
        if (!match) {
            if (p.exclusion != matched) continue;
            match = match_one(p, path);
            if (!match && parent.matched.empty()) {
                for (size_t slash = path.find('/'); slash != std::string_view::npos;
                     slash = path.find('/', slash + 1))
                    if (match_one(p, path.substr(0, slash))) {
                        match = true;
                        break;
                    }
            }
        }
        out.matched[i] = match;
        if (match) matched = !p.exclusion;
    }
    return matched;
}

}  // namespace berth::build
