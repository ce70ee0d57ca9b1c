#include "build/parser/instructions.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "common/strings.hpp"

namespace berth::build {
namespace {

std::string upper(std::string s) {
    for (char& c : s)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return s;
}

std::string lower_case(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

std::string trimmed_text(const std::string& s) {
    return std::string(trim(s));
}

// An instruction's --flags, as BuildKit's BFlags: --name=value, booleans also --name.
class Flags {
  public:
    enum class Type { boolean, string, strings };
    struct Flag {
        Type type = Type::string;
        std::string value;
        std::vector<std::string> values;
        bool used = false;
        [[nodiscard]] bool is_true() const { return value == "true"; }
    };

    explicit Flags(const std::vector<std::string>& args) : args_(args) {}

    Flag& add_bool(const std::string& name, bool def = false) {
        Flag& f = flags_[name];
        f.type = Type::boolean;
        f.value = def ? "true" : "false";
        return f;
    }
    Flag& add_string(const std::string& name, const std::string& def = "") {
        Flag& f = flags_[name];
        f.type = Type::string;
        f.value = def;
        return f;
    }
    Flag& add_strings(const std::string& name) {
        Flag& f = flags_[name];
        f.type = Type::strings;
        return f;
    }

    // Throws Error naming the flag.
    void parse() {
        for (const auto& a : args_) {
            if (a == "--") return;
            if (!a.starts_with("--")) throw Error("arg should start with -- : " + a);
            size_t eq = a.find('=');
            bool has_value = eq != std::string::npos;
            std::string flag_name = a.substr(0, eq);
            std::string value = has_value ? a.substr(eq + 1) : std::string();
            std::string name = flag_name.substr(2);
            auto it = flags_.find(name);
            if (it == flags_.end()) throw Error("unknown flag: " + flag_name);
            Flag& f = it->second;
            if (f.used && f.type != Type::strings)
                throw Error("duplicate flag specified: " + flag_name);
            f.used = true;
            switch (f.type) {
                case Type::boolean: {
                    if (has_value && value.empty())
                        throw Error("missing a value on flag: " + flag_name);
                    std::string v = lower_case(value);
                    if (v == "true" || v.empty())
                        f.value = "true";
                    else if (v == "false")
                        f.value = "false";
                    else
                        throw Error("expecting boolean value for flag " + flag_name +
                                    ", not: " + value);
                    break;
                }
                case Type::string:
                    if (!has_value) throw Error("missing a value on flag: " + flag_name);
                    f.value = value;
                    break;
                case Type::strings:
                    if (!has_value) throw Error("missing a value on flag: " + flag_name);
                    f.values.push_back(value);
                    break;
            }
        }
    }

  private:
    const std::vector<std::string>& args_;
    std::map<std::string, Flag> flags_;
};

std::vector<KeyValue> key_values(const std::vector<std::string>& args, const std::string& name) {
    if (args.empty()) throw Error(name + " requires at least one argument");
    if (args.size() % 3 != 0) throw Error("Bad input to " + name + ", too many arguments");
    std::vector<KeyValue> out;
    for (size_t i = 0; i < args.size(); i += 3) {
        if (args[i].empty()) throw Error(name + " names can not be blank");
        out.push_back({args[i], args[i + 1], args[i + 2].empty()});
    }
    return out;
}

void exactly_one(const SyntaxNode& node, const std::string& name) {
    if (node.args.size() != 1) throw Error(name + " requires exactly one argument");
}

CommandLine command_line(const SyntaxNode& node, bool empty_as_none) {
    CommandLine line;
    line.files = node.heredocs;
    line.prepend_shell = !node.json;
    if (node.json) {
        line.args = node.args;
    } else if (!node.args.empty()) {
        line.args = {join(node.args, " ")};
    }
    if (empty_as_none && line.args.empty()) line.args.clear();
    return line;
}

bool valid_stage_name(const std::string& name) {
    if (name.empty() || !(name[0] >= 'a' && name[0] <= 'z')) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    });
}

CopyCommand parse_copy(const SyntaxNode& node, bool add) {
    std::string name = add ? "ADD" : "COPY";
    if (node.args.size() < 2)
        throw Error(name +
                    " requires at least two arguments, but only one was provided. Destination "
                    "could not be determined");
    Flags flags(node.flags);
    CopyCommand c;
    c.add = add;
    auto& chown = flags.add_string("chown");
    auto& chmod = flags.add_string("chmod");
    auto& link = flags.add_bool("link");
    auto& exclude = flags.add_strings("exclude");
    Flags::Flag* from = nullptr;
    Flags::Flag* parents = nullptr;
    Flags::Flag* checksum = nullptr;
    Flags::Flag* unpack = nullptr;
    Flags::Flag* keep_git = nullptr;
    if (add) {
        checksum = &flags.add_string("checksum");
        unpack = &flags.add_bool("unpack");
        keep_git = &flags.add_bool("keep-git-dir");
    } else {
        from = &flags.add_string("from");
        parents = &flags.add_bool("parents");
    }
    flags.parse();
    c.chown = chown.value;
    c.chmod = chmod.value;
    c.link = link.is_true();
    c.excludes = exclude.values;
    if (from) c.from = from->value;
    if (parents) c.parents = parents->is_true();
    if (checksum) c.checksum = checksum->value;
    if (unpack && unpack->used) c.unpack = unpack->is_true();
    if (keep_git && keep_git->used) c.keep_git_dir = keep_git->is_true();
    c.dest = node.args.back();
    if (!parse_heredoc_word(c.dest).name.empty())
        throw Error(name + " cannot accept a heredoc as a destination");
    for (size_t i = 0; i + 1 < node.args.size(); ++i) {
        const std::string& src = node.args[i];
        Heredoc h = node.json ? Heredoc{} : parse_heredoc_word(src);
        if (h.name.empty()) {
            c.sources.push_back(src);
            continue;
        }
        for (const auto& doc : node.heredocs)
            if (doc.name == h.name) {
                Heredoc file = doc;
                if (file.chomp) file.content = chomp_heredoc(file.content);
                c.inline_files.push_back(std::move(file));
                break;
            }
    }
    if (!c.checksum.empty() && c.sources.size() != 1)
        throw Error("checksum can't be specified for multiple sources");
    return c;
}

HealthcheckCommand parse_healthcheck(const SyntaxNode& node) {
    if (node.args.empty()) throw Error("HEALTHCHECK requires at least one argument");
    HealthcheckCommand h;
    std::string type = upper(node.args[0]);
    std::vector<std::string> rest(node.args.begin() + 1, node.args.end());
    if (type == "NONE") {
        if (!rest.empty()) throw Error("HEALTHCHECK NONE takes no arguments");
        Flags flags(node.flags);
        flags.parse();
        h.test = {"NONE"};
        return h;
    }
    Flags flags(node.flags);
    auto& interval = flags.add_string("interval");
    auto& timeout = flags.add_string("timeout");
    auto& start_period = flags.add_string("start-period");
    auto& start_interval = flags.add_string("start-interval");
    auto& retries = flags.add_string("retries");
    flags.parse();
    if (type != "CMD")
        throw Error("Unknown type \"" + node.args[0] + "\" in HEALTHCHECK (try CMD)");
    std::vector<std::string> command =
        node.json ? rest : (rest.empty() ? rest : std::vector<std::string>{join(rest, " ")});
    if (command.empty()) throw Error("Missing command after HEALTHCHECK CMD");
    h.test = {node.json ? "CMD" : "CMD-SHELL"};
    h.test.insert(h.test.end(), command.begin(), command.end());
    auto duration = [](const Flags::Flag& f, const std::string& flag) -> int64_t {
        if (f.value.empty()) return 0;
        int64_t d = parse_go_duration(f.value);
        if (d != 0 && d < 1000000) throw Error("Interval \"" + flag + "\" cannot be less than 1ms");
        return d;
    };
    h.interval = duration(interval, "interval");
    h.timeout = duration(timeout, "timeout");
    h.start_period = duration(start_period, "start-period");
    h.start_interval = duration(start_interval, "start-interval");
    if (!retries.value.empty()) {
        auto n = parse_int64(retries.value);
        if (!n) throw Error("invalid --retries \"" + retries.value + "\"");
        if (*n < 0) throw Error("--retries cannot be negative (" + std::to_string(*n) + ")");
        h.retries = static_cast<int>(*n);
    }
    return h;
}

std::string onbuild_expression(const SyntaxNode& node) {
    // The line without its ONBUILD keyword (any case), heredocs appended.
    std::string_view original = trim(node.original);
    size_t k = 0;
    while (k < original.size() && original[k] != ' ' && original[k] != '\t')
        ++k;
    std::string expression(trim(original.substr(k)));
    for (const auto& h : node.heredocs)
        expression += "\n" + h.content + h.name;
    return expression;
}

RunCommand parse_run(const SyntaxNode& node) {
    Flags flags(node.flags);
    auto& mounts = flags.add_strings("mount");
    auto& network = flags.add_string("network", "default");
    auto& security = flags.add_string("security", "sandbox");
    flags.parse();
    RunCommand r;
    r.mounts = mounts.values;
    r.network = network.value;
    if (r.network != "default" && r.network != "none" && r.network != "host")
        throw Error("invalid network mode \"" + r.network + "\"");
    r.security = security.value;
    if (r.security == "insecure")
        throw Error("--security=insecure is not allowed: berth builds no privileged RUN");
    if (r.security != "sandbox") throw Error("unsupported security mode \"" + r.security + "\"");
    for (const auto& m : r.mounts)
        if (m.find('$') == std::string::npos) parse_run_mount(m);  // checked early
    r.line = command_line(node, false);
    if (r.line.args.empty()) throw Error("RUN requires at least one argument");
    return r;
}

Command make_command(const SyntaxNode& node) {
    Command cmd;
    cmd.keyword = upper(node.keyword);
    cmd.text = trimmed_text(node.original);
    cmd.line = node.start_line;
    cmd.end_line = node.end_line;
    cmd.column = node.column;
    std::string k = node.lower_keyword();
    auto no_flags = [&] { Flags(node.flags).parse(); };
    if (k == "run") {
        cmd.body = parse_run(node);
    } else if (k == "copy" || k == "add") {
        cmd.body = parse_copy(node, k == "add");
    } else if (k == "env") {
        no_flags();
        cmd.body = EnvCommand{key_values(node.args, "ENV")};
    } else if (k == "label") {
        no_flags();
        cmd.body = LabelCommand{key_values(node.args, "LABEL")};
    } else if (k == "maintainer") {
        exactly_one(node, "MAINTAINER");
        no_flags();
        cmd.body = MaintainerCommand{node.args[0]};
    } else if (k == "arg") {
        if (node.args.empty()) throw Error("ARG requires at least one argument");
        no_flags();
        ArgCommand a;
        for (const auto& word : node.args) {
            size_t eq = word.find('=');
            if (eq == std::string::npos) {
                a.args.push_back({word, std::nullopt});
            } else {
                if (eq == 0) throw Error("ARG names can not be blank");
                a.args.push_back({word.substr(0, eq), word.substr(eq + 1)});
            }
        }
        cmd.body = std::move(a);
    } else if (k == "workdir") {
        exactly_one(node, "WORKDIR");
        no_flags();
        cmd.body = WorkdirCommand{node.args[0]};
    } else if (k == "user") {
        exactly_one(node, "USER");
        no_flags();
        cmd.body = UserCommand{node.args[0]};
    } else if (k == "expose") {
        if (node.args.empty()) throw Error("EXPOSE requires at least one argument");
        no_flags();
        ExposeCommand e{node.args};
        std::sort(e.ports.begin(), e.ports.end());
        cmd.body = std::move(e);
    } else if (k == "volume") {
        if (node.args.empty()) throw Error("VOLUME requires at least one argument");
        no_flags();
        VolumeCommand v;
        for (const auto& a : node.args) {
            std::string t = trimmed_text(a);
            if (t.empty()) throw Error("VOLUME specified can not be an empty string");
            v.volumes.push_back(t);
        }
        cmd.body = std::move(v);
    } else if (k == "cmd") {
        no_flags();
        cmd.body = CmdCommand{command_line(node, false)};
    } else if (k == "entrypoint") {
        no_flags();
        cmd.body = EntrypointCommand{command_line(node, true)};
    } else if (k == "shell") {
        no_flags();
        if (node.args.empty()) throw Error("SHELL requires at least one argument");
        if (!node.json) throw Error("SHELL requires the arguments to be in JSON form");
        cmd.body = ShellCommand{node.args};
    } else if (k == "stopsignal") {
        exactly_one(node, "STOPSIGNAL");
        no_flags();
        cmd.body = StopSignalCommand{node.args[0]};
    } else if (k == "healthcheck") {
        cmd.body = parse_healthcheck(node);
    } else if (k == "onbuild") {
        if (node.args.empty() || node.sub.empty())
            throw Error("ONBUILD requires at least one argument");
        no_flags();
        std::string trigger = upper(node.sub[0].keyword);
        if (trigger == "ONBUILD")
            throw Error("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
        if (trigger == "MAINTAINER" || trigger == "FROM")
            throw Error(trigger + " isn't allowed as an ONBUILD trigger");
        // The trigger must itself be a valid instruction.
        make_command(node.sub[0]);
        cmd.body = OnbuildCommand{onbuild_expression(node)};
    } else {
        throw Error("unknown instruction: " + node.keyword);
    }
    return cmd;
}

// The column of text in the node's first line (the keyword's when not found there).
int column_of(const SyntaxNode& node, const std::string& text) {
    if (text.empty()) return node.column;
    size_t at = node.original.find(text);
    size_t nl = node.original.find('\n');
    if (at == std::string::npos || (nl != std::string::npos && at > nl)) return node.column;
    std::string_view original = node.original;
    size_t lead = 0;
    while (lead < original.size() && (original[lead] == ' ' || original[lead] == '\t'))
        ++lead;
    return node.column + static_cast<int>(at - lead);
}

// The word of the message that locates it best (a flag, a value), for the column.
std::string located_word(const std::string& message) {
    for (const char* marker : {"flag: ", "flag specified: ", "flag ", "unknown flag: "}) {
        size_t at = message.find(marker);
        if (at != std::string::npos) {
            std::string word = message.substr(at + std::string(marker).size());
            size_t end = word.find_first_of(" ,=");
            return word.substr(0, end);
        }
    }
    return {};
}

Stage parse_from(const SyntaxNode& node) {
    Stage s;
    const auto& args = node.args;
    if (args.size() == 3 && lower_case(args[1]) == "as") {
        s.name = lower_case(args[2]);
        if (!valid_stage_name(s.name))
            throw Error("invalid name for build stage: \"" + args[2] +
                        "\", name can't start with a number or contain symbols");
    } else if (args.size() != 1) {
        throw Error("FROM requires either one or three arguments");
    }
    Flags flags(node.flags);
    auto& platform = flags.add_string("platform");
    flags.parse();
    s.base = args[0];
    s.platform = platform.value;
    s.text = trimmed_text(node.original);
    s.line = node.start_line;
    s.column = node.column;
    return s;
}

}  // namespace

int64_t parse_go_duration(const std::string& text) {
    std::string_view s = text;
    if (s.empty()) throw Error("invalid duration \"\"");
    bool negative = false;
    if (s[0] == '-' || s[0] == '+') {
        negative = s[0] == '-';
        s.remove_prefix(1);
    }
    if (s == "0") return 0;
    if (s.empty()) throw Error("invalid duration \"" + text + "\"");
    double total = 0;
    while (!s.empty()) {
        size_t i = 0;
        while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
            ++i;
        if (i == 0) throw Error("invalid duration \"" + text + "\"");
        double number = 0;
        try {
            number = std::stod(std::string(s.substr(0, i)));
        } catch (const std::exception&) {
            throw Error("invalid duration \"" + text + "\"");
        }
        s.remove_prefix(i);
        size_t u = 0;
        while (u < s.size() && !((s[u] >= '0' && s[u] <= '9') || s[u] == '.'))
            ++u;
        std::string unit(s.substr(0, u));
        s.remove_prefix(u);
        double scale = 0;
        if (unit == "ns")
            scale = 1;
        else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs")
            scale = 1e3;
        else if (unit == "ms")
            scale = 1e6;
        else if (unit == "s")
            scale = 1e9;
        else if (unit == "m")
            scale = 60e9;
        else if (unit == "h")
            scale = 3600e9;
        else if (unit.empty())
            throw Error("missing unit in duration \"" + text + "\"");
        else
            throw Error("unknown unit \"" + unit + "\" in duration \"" + text + "\"");
        total += number * scale;
    }
    if (total > 9.2e18) throw Error("invalid duration \"" + text + "\"");
    auto ns = static_cast<int64_t>(std::llround(total));
    return negative ? -ns : ns;
}

namespace {

// Go's encoding/csv for one record: fields split at ',', "double quotes" with "" inside.
std::vector<std::string> csv_fields(const std::string& text) {
    std::vector<std::string> fields;
    std::string field;
    size_t i = 0;
    while (i <= text.size()) {
        field.clear();
        if (i < text.size() && text[i] == '"') {
            ++i;
            for (;;) {
                if (i >= text.size()) throw Error("unterminated quote in \"" + text + "\"");
                if (text[i] == '"') {
                    if (i + 1 < text.size() && text[i + 1] == '"') {
                        field += '"';
                        i += 2;
                        continue;
                    }
                    ++i;
                    break;
                }
                field += text[i++];
            }
            if (i < text.size() && text[i] != ',')
                throw Error("extraneous or missing \" in quoted-field in \"" + text + "\"");
        } else {
            while (i < text.size() && text[i] != ',')
                field += text[i++];
        }
        fields.push_back(field);
        ++i;  // the comma (or past the end)
    }
    return fields;
}

bool parse_bool_value(const std::string& key, const std::string& value) {
    std::string v = lower_case(value);
    if (v == "1" || v == "t" || v == "true") return true;
    if (v == "0" || v == "f" || v == "false") return false;
    throw Error("invalid value for " + key + ": " + value);
}

// docker's units.RAMInBytes: "64m", "1g", "1.5GiB", "1024".
int64_t ram_in_bytes(const std::string& text) {
    size_t i = 0;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.'))
        ++i;
    if (i == 0) throw Error("invalid size: '" + text + "'");
    double number = std::stod(text.substr(0, i));
    std::string unit = lower_case(text.substr(i));
    if (!unit.empty() && unit.back() == 'b') unit.pop_back();
    if (!unit.empty() && unit.back() == 'i') unit.pop_back();
    static const std::string units = "kmgtp";
    double scale = 1;
    if (!unit.empty()) {
        size_t at = units.find(unit);
        if (unit.size() != 1 || at == std::string::npos)
            throw Error("invalid size: '" + text + "'");
        scale = std::pow(1024.0, static_cast<double>(at + 1));
    }
    return static_cast<int64_t>(number * scale);
}

uint32_t parse_u32(const std::string& key, const std::string& value, int base) {
    try {
        size_t used = 0;
        unsigned long v = std::stoul(value, &used, base);
        if (used != value.size() || v > 0xFFFFFFFFUL) throw Error("");
        return static_cast<uint32_t>(v);
    } catch (const std::exception&) {
        throw Error("invalid value " + value + " for " + key);
    }
}

}  // namespace

RunMount parse_run_mount(const std::string& spec) {
    RunMount m;
    bool readonly_auto = true;
    bool sharing_set = false;
    for (const auto& field : csv_fields(spec)) {
        size_t eq = field.find('=');
        std::string key = lower_case(field.substr(0, eq));
        if (eq == std::string::npos) {
            if (key == "readonly" || key == "ro") {
                m.readonly = true;
                readonly_auto = false;
            } else if (key == "readwrite" || key == "rw") {
                m.readonly = false;
                readonly_auto = false;
            } else if (key == "required") {
                if (m.type != "secret" && m.type != "ssh")
                    throw Error("unexpected key '" + key + "' for mount type '" + m.type + "'");
                m.required = true;
            } else {
                throw Error("invalid field '" + field + "' must be a key=value pair");
            }
            continue;
        }
        std::string value = field.substr(eq + 1);
        if (key == "type") {
            std::string t = lower_case(value);
            if (t != "bind" && t != "cache" && t != "tmpfs" && t != "secret" && t != "ssh")
                throw Error("unsupported mount type \"" + value + "\"");
            m.type = t;
        } else if (key == "from") {
            m.from = value;
        } else if (key == "source" || key == "src") {
            m.source = value;
        } else if (key == "target" || key == "dst" || key == "destination") {
            m.target = value;
        } else if (key == "readonly" || key == "ro") {
            m.readonly = parse_bool_value(key, value);
            readonly_auto = false;
        } else if (key == "readwrite" || key == "rw") {
            m.readonly = !parse_bool_value(key, value);
            readonly_auto = false;
        } else if (key == "required") {
            if (m.type != "secret" && m.type != "ssh")
                throw Error("unexpected key '" + key + "' for mount type '" + m.type + "'");
            m.required = parse_bool_value(key, value);
        } else if (key == "size") {
            if (m.type != "tmpfs")
                throw Error("unexpected key '" + key + "' for mount type '" + m.type + "'");
            m.size = ram_in_bytes(value);
        } else if (key == "id") {
            m.id = value;
        } else if (key == "sharing") {
            std::string s = lower_case(value);
            if (s != "shared" && s != "private" && s != "locked")
                throw Error("unsupported sharing value \"" + value + "\"");
            m.sharing = s;
            sharing_set = true;
        } else if (key == "mode") {
            m.mode = parse_u32("mode", value, 8);
        } else if (key == "uid") {
            m.uid = parse_u32("uid", value, 10);
        } else if (key == "gid") {
            m.gid = parse_u32("gid", value, 10);
        } else if (key == "env") {
            m.env = value;
        } else {
            throw Error("unexpected key '" + key + "' in '" + field + "'");
        }
    }
    bool file_info = m.type == "secret" || m.type == "ssh" || m.type == "cache";
    if (!file_info) {
        if (m.mode) throw Error("mode not allowed for \"" + m.type + "\" type mounts");
        if (m.uid) throw Error("uid not allowed for \"" + m.type + "\" type mounts");
        if (m.gid) throw Error("gid not allowed for \"" + m.type + "\" type mounts");
    }
    if (readonly_auto) m.readonly = !(m.type == "cache" || m.type == "tmpfs");
    if (m.type == "secret") {
        if (!m.from.empty()) throw Error("secret mount should not have a from");
        if (sharing_set) throw Error("secret mount should not define sharing");
        if (m.source.empty() && m.target.empty() && m.id.empty())
            throw Error("invalid secret mount. one of source, target required");
        if (!m.source.empty() && !m.id.empty()) throw Error("both source and id can't be set");
    }
    if (sharing_set && m.type != "cache")
        throw Error("invalid cache sharing set for " + m.type + " mount");
    if (m.type != "secret" && m.type != "ssh" && m.target.empty())
        throw Error("mount type=" + m.type + " needs a target");
    return m;
}

Command parse_command_text(std::string_view text, const std::string& file, int line, int column) {
    SyntaxTree tree = parse_syntax(text, file);
    if (tree.nodes.size() != 1)
        throw ParseError(file, line, column, "ONBUILD",
                         "onbuild trigger should be a single expression");
    const SyntaxNode& node = tree.nodes[0];
    try {
        Command cmd = make_command(node);
        cmd.line = line;
        cmd.end_line = line;
        cmd.column = column;
        return cmd;
    } catch (const ParseError&) {
        throw;
    } catch (const Error& e) {
        throw ParseError(file, line, column, upper(node.keyword), e.what());
    }
}

Containerfile parse_containerfile(std::string_view text, const std::string& file) {
    SyntaxTree tree = parse_syntax(text, file);
    Containerfile cf;
    cf.file = file;
    cf.escape = tree.escape;
    cf.syntax = tree.syntax;
    cf.warnings = tree.warnings;
    for (const SyntaxNode& node : tree.nodes) {
        std::string k = node.lower_keyword();
        try {
            if (k == "from") {
                cf.stages.push_back(parse_from(node));
                continue;
            }
            Command cmd = make_command(node);
            if (cf.stages.empty()) {
                if (std::holds_alternative<ArgCommand>(cmd.body)) {
                    cf.meta_args.push_back(std::move(cmd));
                    continue;
                }
                throw Error("no build stage in current context (a FROM must come first)");
            }
            cf.stages.back().commands.push_back(std::move(cmd));
        } catch (const ParseError&) {
            throw;
        } catch (const Error& e) {
            std::string message = e.what();
            throw ParseError(file, node.start_line, column_of(node, located_word(message)),
                             upper(node.keyword), message);
        }
    }
    if (cf.stages.empty())
        throw ParseError(file, 0, 0, "", "the Containerfile has no FROM: no stage to build");
    return cf;
}

}  // namespace berth::build
