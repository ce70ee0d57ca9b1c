#include "build/parser/syntax.hpp"

#include <nlohmann/json.hpp>
#include <set>

#include "build/parser/shell_lex.hpp"

namespace berth::build {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// BuildKit splits keywords from arguments, and whitespace-separated lists, at [\t\v\f\r ]+.
bool is_separator(char c) {
    return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

std::string_view trim_space(std::string_view s) {
    while (!s.empty() && is_space(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_space(s.back()))
        s.remove_suffix(1);
    return s;
}

std::string_view trim_left_space(std::string_view s) {
    while (!s.empty() && is_space(s.front()))
        s.remove_prefix(1);
    return s;
}

std::string_view trim_newline(std::string_view s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

bool is_comment(std::string_view line) {
    line = trim_left_space(line);
    return !line.empty() && line[0] == '#';
}

std::vector<std::string> split_separated(std::string_view s) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && is_separator(s[i]))
            ++i;
        size_t start = i;
        while (i < s.size() && !is_separator(s[i]))
            ++i;
        if (i > start) out.emplace_back(s.substr(start, i - start));
    }
    return out;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// Parser directives: "# key=value" lines before anything else.
class Directives {
  public:
    struct Found {
        std::string key, value;
    };

    // nullopt when the line is no directive (and from then on, none is looked for).
    std::optional<Found> parse(std::string_view line) {
        if (done_) return std::nullopt;
        if (line.empty() || line[0] != '#') return stop();
        line.remove_prefix(1);
        line = trim_left_space(line);
        // ^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$
        size_t i = 0;
        auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
        if (line.empty() || !alpha(line[0])) return stop();
        while (i < line.size() && (alpha(line[i]) || (line[i] >= '0' && line[i] <= '9')))
            ++i;
        std::string key = lower(line.substr(0, i));
        std::string_view rest = trim_left_space(line.substr(i));
        if (rest.empty() || rest[0] != '=') return stop();
        std::string_view value = trim_space(rest.substr(1));
        if (value.empty()) return stop();
        if (key != "syntax" && key != "escape" && key != "check") return stop();
        if (!seen_.insert(key).second)
            throw Error("only one " + key + " parser directive can be used");
        return Found{key, std::string(value)};
    }

  private:
    std::optional<Found> stop() {
        done_ = true;
        return std::nullopt;
    }
    bool done_ = false;
    std::set<std::string> seen_;
};

// The escape character (with trailing blanks) ending a line continues it, unless it is
// itself escaped; it is removed. BuildKit: ([^\\])\\[ \t]*$|^\\[ \t]*$.
bool take_continuation(std::string& line, char escape) {
    size_t end = line.size();
    while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t'))
        --end;
    if (end == 0 || line[end - 1] != escape) return false;
    if (end >= 2 && line[end - 2] == escape) return false;
    line.erase(end - 1);
    return true;
}

// Leading --flags of an instruction's arguments (quotes and escapes removed from them).
std::pair<std::string, std::vector<std::string>> extract_flags(std::string_view line, char escape) {
    enum { in_spaces, in_word, in_quote } phase = in_spaces;
    std::vector<std::string> words;
    std::string builder;
    char quote = 0;
    bool blank_ok = false;
    char c = 0;
    for (size_t pos = 0; pos <= line.size(); ++pos) {
        if (pos != line.size()) c = line[pos];
        if (phase == in_spaces) {
            if (pos == line.size()) break;
            if (is_space(c)) continue;
            if (c != '-' || pos + 1 == line.size() || line[pos + 1] != '-')
                return {std::string(line.substr(pos)), words};
            phase = in_word;
        }
        if ((phase == in_word || phase == in_quote) && pos == line.size()) {
            if (builder != "--" && (blank_ok || !builder.empty())) words.push_back(builder);
            break;
        }
        if (phase == in_word) {
            if (is_space(c)) {
                phase = in_spaces;
                if (builder == "--") return {std::string(line.substr(pos)), words};
                if (blank_ok || !builder.empty()) words.push_back(builder);
                builder.clear();
                blank_ok = false;
                continue;
            }
            if (c == '\'' || c == '"') {
                quote = c;
                blank_ok = true;
                phase = in_quote;
                continue;
            }
            if (c == escape) {
                if (pos + 1 == line.size()) continue;
                c = line[++pos];
            }
            builder += c;
            continue;
        }
        if (c == quote) {
            phase = in_word;
            continue;
        }
        if (c == escape) {
            if (pos + 1 == line.size()) {
                phase = in_word;
                continue;
            }
            c = line[++pos];
        }
        builder += c;
    }
    return {"", words};
}

// Words separated by blanks, quotes kept (they go later, with the expansion).
std::vector<std::string> parse_words(std::string_view rest, char escape) {
    enum { in_spaces, in_word, in_quote } phase = in_spaces;
    std::vector<std::string> words;
    std::string builder;
    char quote = 0;
    bool blank_ok = false;
    char c = 0;
    for (size_t pos = 0; pos <= rest.size(); ++pos) {
        if (pos != rest.size()) c = rest[pos];
        if (phase == in_spaces) {
            if (pos == rest.size()) break;
            if (is_space(c)) continue;
            phase = in_word;
        }
        if ((phase == in_word || phase == in_quote) && pos == rest.size()) {
            if (blank_ok || !builder.empty()) words.push_back(builder);
            break;
        }
        if (phase == in_word) {
            if (is_space(c)) {
                phase = in_spaces;
                if (blank_ok || !builder.empty()) words.push_back(builder);
                builder.clear();
                blank_ok = false;
                continue;
            }
            if (c == '\'' || c == '"') {
                quote = c;
                blank_ok = true;
                phase = in_quote;
            }
            if (c == escape) {
                if (pos + 1 == rest.size()) continue;
                // Unquoted, an escape and the character after it are kept as they are.
                builder += c;
                c = rest[++pos];
            }
            builder += c;
            continue;
        }
        if (c == quote) phase = in_word;
        if (c == escape && quote != '\'') {
            if (pos + 1 == rest.size()) {
                phase = in_word;
                continue;
            }
            builder += c;
            c = rest[++pos];
        }
        builder += c;
    }
    return words;
}

enum class JsonOutcome { ok, not_json, not_strings };

JsonOutcome parse_json_array(std::string_view rest, std::vector<std::string>& out) {
    rest = trim_left_space(rest);
    if (rest.empty() || rest[0] != '[') return JsonOutcome::not_json;
    auto doc = nlohmann::json::parse(rest, nullptr, false);
    if (doc.is_discarded() || !doc.is_array()) return JsonOutcome::not_json;
    std::vector<std::string> values;
    for (const auto& v : doc) {
        if (!v.is_string()) return JsonOutcome::not_strings;
        values.push_back(v.get<std::string>());
    }
    out = std::move(values);
    return JsonOutcome::ok;
}

constexpr const char* kNotStrings =
    "when using JSON array syntax, arrays must be comprised of strings only";

// The argument forms, after BuildKit's line parsers.
void parse_maybe_json(SyntaxNode& node, std::string_view rest, bool to_list) {
    std::vector<std::string> values;
    switch (parse_json_array(rest, values)) {
        case JsonOutcome::ok:
            node.args = std::move(values);
            node.json = true;
            return;
        case JsonOutcome::not_strings:
            throw Error(kNotStrings);
        case JsonOutcome::not_json:
            break;
    }
    if (rest.empty()) return;
    if (to_list)
        node.args = split_separated(rest);
    else
        node.args = {std::string(rest)};
}

void parse_name_value(SyntaxNode& node, std::string_view rest, char escape,
                      const std::string& keyword) {
    std::vector<std::string> words = parse_words(rest, escape);
    if (words.empty()) return;
    if (words[0].find('=') == std::string::npos) {
        // The old form: KEY value (the rest of the line is the value).
        size_t i = 0;
        while (i < rest.size() && !is_separator(rest[i]))
            ++i;
        size_t j = i;
        while (j < rest.size() && is_separator(rest[j]))
            ++j;
        if (i == rest.size()) throw Error(keyword + " must have two arguments");
        node.args = {std::string(rest.substr(0, i)), std::string(rest.substr(j)), ""};
        return;
    }
    for (const auto& word : words) {
        size_t eq = word.find('=');
        if (eq == std::string::npos)
            throw Error("Syntax error - can't find = in \"" + word +
                        "\". Must be of the form: name=value");
        node.args.push_back(word.substr(0, eq));
        node.args.push_back(word.substr(eq + 1));
        node.args.emplace_back("=");
    }
}

SyntaxNode node_from_line(std::string_view line, char escape, const std::string& file, int line_no,
                          int column);

void parse_arguments(SyntaxNode& node, std::string_view rest, char escape, const std::string& file,
                     int line_no, int column) {
    std::string keyword = node.lower_keyword();
    if (keyword == "add" || keyword == "copy" || keyword == "volume") {
        parse_maybe_json(node, rest, true);
    } else if (keyword == "run" || keyword == "cmd" || keyword == "entrypoint" ||
               keyword == "shell") {
        parse_maybe_json(node, rest, false);
    } else if (keyword == "env" || keyword == "label") {
        parse_name_value(node, rest, escape, keyword == "env" ? "ENV" : "LABEL");
    } else if (keyword == "arg") {
        node.args = parse_words(rest, escape);
    } else if (keyword == "expose" || keyword == "from") {
        node.args = split_separated(rest);
    } else if (keyword == "maintainer" || keyword == "stopsignal" || keyword == "user" ||
               keyword == "workdir") {
        if (!rest.empty()) node.args = {std::string(rest)};
    } else if (keyword == "healthcheck") {
        size_t sep = 0;
        while (sep < rest.size() && !is_space(rest[sep]))
            ++sep;
        if (sep == 0) return;
        size_t next = sep;
        while (next < rest.size() && is_space(rest[next]))
            ++next;
        SyntaxNode command;
        parse_maybe_json(command, rest.substr(next), false);
        node.args.emplace_back(rest.substr(0, sep));
        node.args.insert(node.args.end(), command.args.begin(), command.args.end());
        node.json = command.json;
    } else if (keyword == "onbuild") {
        if (rest.empty()) return;
        node.sub.push_back(node_from_line(rest, escape, file, line_no, column));
        const SyntaxNode& child = node.sub.back();
        node.args.push_back(child.keyword);
        node.args.insert(node.args.end(), child.args.begin(), child.args.end());
    }
    // Anything else is an unknown instruction: instructions.cpp names it.
}

SyntaxNode node_from_line(std::string_view line, char escape, const std::string& file, int line_no,
                          int column) {
    SyntaxNode node;
    node.original = std::string(line);
    node.start_line = node.end_line = line_no;
    node.column = column;
    std::string_view trimmed = trim_space(line);
    size_t k = 0;
    while (k < trimmed.size() && !is_separator(trimmed[k]))
        ++k;
    node.keyword = std::string(trimmed.substr(0, k));
    std::string_view after = trimmed.substr(k);
    while (!after.empty() && is_separator(after.front()))
        after.remove_prefix(1);
    std::string rest;
    if (!after.empty()) {
        auto [remaining, flags] = extract_flags(after, escape);
        node.flags = std::move(flags);
        rest = std::string(trim_space(remaining));
    }
    try {
        parse_arguments(node, rest, escape, file, line_no, column);
    } catch (const ParseError&) {
        throw;
    } catch (const Error& e) {
        throw ParseError(file, line_no, column, node.keyword, e.what());
    }
    return node;
}

bool can_contain_heredoc(const SyntaxNode& node) {
    const SyntaxNode* n = &node;
    if (n->lower_keyword() == "onbuild" && !n->sub.empty()) n = &n->sub[0];
    std::string k = n->lower_keyword();
    if (k != "add" && k != "copy" && k != "run") return false;
    return !n->json;
}

std::vector<Heredoc> heredocs_from_line(std::string_view line) {
    LexOptions raw;
    raw.raw_quotes = true;
    raw.raw_escapes = true;
    raw.skip_unset_env = true;
    std::vector<std::string> words;
    try {
        words = ShellLex('\\', raw).process_words(line, Environment{});
    } catch (const ExpansionError&) {
        return {};
    }
    std::vector<Heredoc> docs;
    for (const auto& word : words) {
        Heredoc h = parse_heredoc_word(word);
        if (!h.name.empty()) docs.push_back(std::move(h));
    }
    return docs;
}

size_t quote_count(std::string_view s) {
    size_t n = 0;
    for (char c : s)
        if (c == '\'' || c == '"') ++n;
    return n;
}

}  // namespace

ParseError::ParseError(const std::string& file, int line, int column,
                       const std::string& instruction, const std::string& message)
    : Error(file + (line > 0 ? ":" + std::to_string(line) : std::string()) +
            (line > 0 && column > 0 ? ":" + std::to_string(column) : std::string()) + ": " +
            (instruction.empty() ? std::string() : instruction + ": ") + message),
      line_(line),
      column_(column) {}

std::string SyntaxNode::lower_keyword() const {
    return lower(keyword);
}

Heredoc parse_heredoc_word(std::string_view word) {
    // ^(\d*)<<(-?)\s*([^<]*)$
    size_t i = 0;
    while (i < word.size() && word[i] >= '0' && word[i] <= '9')
        ++i;
    if (word.substr(i, 2) != "<<") return {};
    i += 2;
    bool chomp = false;
    if (i < word.size() && word[i] == '-') {
        chomp = true;
        ++i;
    }
    while (i < word.size() && (word[i] == ' ' || word[i] == '\t' || word[i] == '\n' ||
                               word[i] == '\f' || word[i] == '\r'))
        ++i;
    std::string_view rest = word.substr(i);
    if (rest.empty() || rest.find('<') != std::string_view::npos) return {};
    std::vector<std::string> plain, raw;
    try {
        plain = ShellLex('\\', {.skip_unset_env = true}).process_words(rest, Environment{});
        if (plain.size() != 1) return {};
        raw = ShellLex('\\', {.raw_quotes = true, .skip_unset_env = true})
                  .process_words(rest, Environment{});
    } catch (const ExpansionError&) {
        return {};
    }
    if (raw.size() != 1) return {};
    Heredoc h;
    h.name = plain[0];
    h.chomp = chomp;
    // Quotes anywhere in the name: the content is taken as it is.
    h.expand = quote_count(plain[0]) == quote_count(raw[0]);
    return h;
}

std::string chomp_heredoc(std::string_view content) {
    std::string out;
    bool line_start = true;
    for (char c : content) {
        if (line_start && c == '\t') continue;
        line_start = c == '\n';
        out += c;
    }
    return out;
}

SyntaxNode parse_line(std::string_view line, char escape, const std::string& file, int line_no,
                      int column) {
    return node_from_line(line, escape, file, line_no, column);
}

SyntaxTree parse_syntax(std::string_view text, const std::string& file) {
    SyntaxTree tree;
    if (text.empty()) throw ParseError(file, 0, 0, "", "the Containerfile is empty");
    // Lines with their newlines.
    std::vector<std::string_view> lines;
    for (size_t start = 0; start < text.size();) {
        size_t nl = text.find('\n', start);
        size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
        lines.push_back(text.substr(start, end - start));
        start = end;
    }
    if (!lines.empty() && lines[0].starts_with("\xEF\xBB\xBF")) lines[0].remove_prefix(3);

    Directives directives;
    size_t index = 0;
    int line_no = 0;
    // A line's text for the parser: no newline, optionally no leading blanks, a comment
    // emptied; directives are taken from it while they may appear.
    auto process = [&](std::string_view raw, bool strip_left) -> std::string {
        std::string_view token = trim_newline(raw);
        if (strip_left) token = trim_left_space(token);
        std::optional<Directives::Found> d;
        try {
            d = directives.parse(token);
        } catch (const Error& e) {
            throw ParseError(file, line_no + 1, 1, "", e.what());
        }
        if (d) {
            if (d->key == "escape") {
                if (d->value != "`" && d->value != "\\")
                    throw ParseError(
                        file, line_no + 1, 1, "",
                        "invalid escape token '" + d->value + "' does not match ` or \\");
                tree.escape = d->value[0];
            } else if (d->key == "syntax") {
                tree.syntax = d->value;
            }
        }
        if (is_comment(token)) return {};
        return std::string(token);
    };

    while (index < lines.size()) {
        std::string_view raw = lines[index++];
        std::string first = process(raw, true);
        ++line_no;
        int start_line = line_no;
        int column = 1;
        while (static_cast<size_t>(column - 1) < raw.size() && is_space(raw[column - 1]) &&
               raw[column - 1] != '\n')
            ++column;
        bool continued = take_continuation(first, tree.escape);
        if (!continued && first.empty()) continue;
        std::string buffer = first;
        bool empty_continuation = false;
        while (continued && index < lines.size()) {
            std::string_view next_raw = lines[index++];
            std::string next = process(next_raw, false);
            ++line_no;
            if (is_comment(next_raw)) continue;
            if (trim_left_space(trim_newline(next)).empty()) {
                empty_continuation = true;
                continue;
            }
            continued = take_continuation(next, tree.escape);
            buffer += next;
        }
        if (empty_continuation)
            tree.warnings.push_back(file + ":" + std::to_string(line_no) +
                                    ": empty continuation line in: " + buffer);
        SyntaxNode node = node_from_line(buffer, tree.escape, file, start_line, column);
        if (can_contain_heredoc(node) && buffer.find("<<") != std::string::npos) {
            for (Heredoc& h : heredocs_from_line(buffer)) {
                bool terminated = false;
                std::string content;
                while (index < lines.size()) {
                    std::string_view body = lines[index++];
                    ++line_no;
                    std::string_view candidate = trim_newline(body);
                    if (h.chomp)
                        while (!candidate.empty() && candidate.front() == '\t')
                            candidate.remove_prefix(1);
                    if (candidate == h.name) {
                        terminated = true;
                        break;
                    }
                    content += body;
                }
                if (!terminated)
                    throw ParseError(file, start_line, column, node.keyword,
                                     "unterminated heredoc <<" + h.name);
                h.content = std::move(content);
                node.heredocs.push_back(std::move(h));
            }
        }
        node.end_line = line_no;
        tree.nodes.push_back(std::move(node));
    }
    if (tree.nodes.empty()) throw ParseError(file, line_no, 0, "", "file with no instructions");
    return tree;
}

}  // namespace berth::build
