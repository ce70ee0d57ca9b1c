// A Containerfile as typed stages and commands (BuildKit's instructions package): every
// instruction's flags checked, its arguments counted and shaped. Words are not expanded
// here: variables depend on the base image's environment and the ARGs in scope, known only
// when the stage runs (stage_executor.cpp expands each command just before it runs).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "build/parser/syntax.hpp"

namespace berth::build {

struct KeyValue {
    std::string key, value;
    bool no_delimiter = false;  // the old "ENV KEY value" form
};

struct ArgDefinition {
    std::string key;
    std::optional<std::string> value;  // the default
};

// RUN, CMD and ENTRYPOINT: shell form (one string, run by the SHELL) or exec form.
struct CommandLine {
    std::vector<std::string> args;
    bool prepend_shell = false;
    std::vector<Heredoc> files;  // RUN <<EOF
};

// --mount of RUN, as written (its values are expanded when the RUN runs).
struct RunCommand {
    CommandLine line;
    std::vector<std::string> mounts;
    std::string network = "default";   // default, none, host
    std::string security = "sandbox";  // sandbox (insecure is refused)
};

// COPY and ADD.
struct CopyCommand {
    bool add = false;
    std::vector<std::string> sources;   // paths, wildcards, URLs (ADD)
    std::vector<Heredoc> inline_files;  // COPY <<EOF /dest
    std::string dest;
    std::string from;  // COPY --from
    std::string chown, chmod, checksum;
    bool link = false;
    bool parents = false;
    std::vector<std::string> excludes;
    std::optional<bool> unpack;  // ADD --unpack
    std::optional<bool> keep_git_dir;
};

struct EnvCommand {
    std::vector<KeyValue> env;
};
struct LabelCommand {
    std::vector<KeyValue> labels;
};
struct MaintainerCommand {
    std::string maintainer;
};
struct ArgCommand {
    std::vector<ArgDefinition> args;
};
struct WorkdirCommand {
    std::string path;
};
struct UserCommand {
    std::string user;
};
struct ExposeCommand {
    std::vector<std::string> ports;
};
struct VolumeCommand {
    std::vector<std::string> volumes;
};
struct CmdCommand {
    CommandLine line;
};
struct EntrypointCommand {
    CommandLine line;
};
struct ShellCommand {
    std::vector<std::string> shell;
};
struct StopSignalCommand {
    std::string signal;
};
// HEALTHCHECK: test is {"NONE"}, {"CMD", args...} or {"CMD-SHELL", command}; durations in
// nanoseconds (0: the runtime's default).
struct HealthcheckCommand {
    std::vector<std::string> test;
    int64_t interval = 0, timeout = 0, start_period = 0, start_interval = 0;
    int retries = 0;
};
struct OnbuildCommand {
    std::string expression;  // the trigger instruction as written (with its heredocs)
};

using CommandBody =
    std::variant<RunCommand, CopyCommand, EnvCommand, LabelCommand, MaintainerCommand, ArgCommand,
                 WorkdirCommand, UserCommand, ExposeCommand, VolumeCommand, CmdCommand,
                 EntrypointCommand, ShellCommand, StopSignalCommand, HealthcheckCommand,
                 OnbuildCommand>;

struct Command {
    CommandBody body;
    std::string keyword;  // upper case: "RUN"
    std::string text;     // the instruction as written (one line), for progress and errors
    int line = 0, end_line = 0, column = 1;
};

struct Stage {
    std::string base;      // FROM's image, stage name or "scratch" (unexpanded)
    std::string name;      // AS name, lower case ("" without)
    std::string platform;  // --platform (unexpanded)
    std::string text;      // the FROM line
    int line = 0, column = 1;
    std::vector<Command> commands;
};

struct Containerfile {
    std::string file;                // its name in errors
    std::vector<Command> meta_args;  // ARGs before the first FROM (ArgCommand bodies)
    std::vector<Stage> stages;
    char escape = '\\';
    std::string syntax;
    std::vector<std::string> warnings;
};

// Parses and checks a whole Containerfile; throws ParseError "FILE:LINE:COLUMN: KEYWORD: why".
Containerfile parse_containerfile(std::string_view text, const std::string& file);

// One command (an ONBUILD trigger) parsed with its own syntax; line/column for its errors.
Command parse_command_text(std::string_view text, const std::string& file, int line, int column);

// Go's time.ParseDuration ("1m30s", "500ms", "1.5h"): nanoseconds. Throws Error.
int64_t parse_go_duration(const std::string& text);

// A --mount of RUN, parsed (BuildKit's syntax: CSV of key=value, type=bind by default).
struct RunMount {
    std::string type = "bind";  // bind, cache, tmpfs, secret, ssh
    std::string from;           // bind/cache: a stage or image
    std::string source;         // bind: a path in from; secret: unused
    std::string target;
    bool readonly = true;
    int64_t size = 0;  // tmpfs
    std::string id;    // cache, secret
    std::string sharing = "shared";
    bool required = false;
    std::optional<std::string> env;  // secret: an environment variable
    std::optional<uint32_t> mode, uid, gid;
};

// Throws Error naming the field. Values are taken as given (expand them first).
RunMount parse_run_mount(const std::string& spec);

}  // namespace berth::build
