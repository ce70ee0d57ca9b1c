// The Containerfile parser (build/parser/syntax.hpp, instructions.hpp): directives, comments,
// continuations, heredocs, the argument forms of each instruction, flags, and the errors that
// name file, line, column and instruction.
#include <gtest/gtest.h>

#include "build/parser/instructions.hpp"

namespace berth::build {
namespace {

template <typename T>
const T& body(const Command& c) {
    return std::get<T>(c.body);
}

std::string parse_error(std::string_view text) {
    try {
        parse_containerfile(text, "Containerfile");
    } catch (const ParseError& e) {
        return e.what();
    }
    return "no error";
}

TEST(ContainerfileParser, StagesAndMetaArgs) {
    auto cf = parse_containerfile(
        "ARG BASE=busybox\n"
        "FROM $BASE AS Builder\n"
        "RUN echo one\n"
        "from builder\n"
        "COPY --from=builder /a /b\n",
        "Containerfile");
    ASSERT_EQ(cf.meta_args.size(), 1u);
    EXPECT_EQ(body<ArgCommand>(cf.meta_args[0]).args[0].key, "BASE");
    EXPECT_EQ(*body<ArgCommand>(cf.meta_args[0]).args[0].value, "busybox");
    ASSERT_EQ(cf.stages.size(), 2u);
    EXPECT_EQ(cf.stages[0].base, "$BASE");
    EXPECT_EQ(cf.stages[0].name, "builder");  // stage names are lower-cased
    EXPECT_EQ(cf.stages[0].line, 2);
    EXPECT_EQ(cf.stages[1].base, "builder");
    EXPECT_EQ(cf.stages[1].name, "");
    ASSERT_EQ(cf.stages[1].commands.size(), 1u);
    EXPECT_EQ(body<CopyCommand>(cf.stages[1].commands[0]).from, "builder");
}

TEST(ContainerfileParser, ContinuationsAndComments) {
    auto cf = parse_containerfile(
        "# a comment\n"
        "FROM scratch\n"
        "RUN echo a \\\n"
        "# inside a continuation, a comment line is skipped\n"
        "    b \\\n"
        "\n"
        "  c\n"
        "  ENV A=1\n",
        "Containerfile");
    const auto& cmds = cf.stages[0].commands;
    ASSERT_EQ(cmds.size(), 2u);
    const auto& run = body<RunCommand>(cmds[0]);
    EXPECT_EQ(run.line.args, (std::vector<std::string>{"echo a     b   c"}));
    EXPECT_TRUE(run.line.prepend_shell);
    EXPECT_EQ(cmds[0].line, 3);
    EXPECT_EQ(cmds[0].end_line, 7);
    EXPECT_EQ(cmds[1].line, 8);
    EXPECT_EQ(cmds[1].column, 3);
    EXPECT_EQ(cf.warnings.size(), 1u);  // the empty continuation line
}

TEST(ContainerfileParser, EscapeDirective) {
    auto cf = parse_containerfile(
        "# escape=`\n"
        "# syntax=docker/dockerfile:1\n"
        "FROM scratch\n"
        "RUN dir c:\\ `\n"
        "  && echo done\n",
        "Containerfile");
    EXPECT_EQ(cf.escape, '`');
    EXPECT_EQ(cf.syntax, "docker/dockerfile:1");
    EXPECT_EQ(body<RunCommand>(cf.stages[0].commands[0]).line.args[0], "dir c:\\   && echo done");
    // After the first instruction or comment, directives are comments.
    auto late = parse_containerfile("FROM scratch\n# escape=`\nRUN a \\\n b\n", "f");
    EXPECT_EQ(late.escape, '\\');
    EXPECT_NE(parse_error("# escape=x\nFROM scratch\n").find("invalid escape token"),
              std::string::npos);
    EXPECT_NE(parse_error("# escape=`\n# escape=\\\nFROM scratch\n")
                  .find("only one escape parser directive"),
              std::string::npos);
}

TEST(ContainerfileParser, ExecAndShellForms) {
    auto cf = parse_containerfile(
        "FROM scratch\n"
        "RUN [\"echo\", \"a b\"]\n"
        "CMD [\"sh\"]\n"
        "ENTRYPOINT echo $HOME\n"
        "RUN [not json\n"
        "SHELL [\"/bin/bash\", \"-c\"]\n",
        "f");
    const auto& c = cf.stages[0].commands;
    EXPECT_FALSE(body<RunCommand>(c[0]).line.prepend_shell);
    EXPECT_EQ(body<RunCommand>(c[0]).line.args, (std::vector<std::string>{"echo", "a b"}));
    EXPECT_EQ(body<CmdCommand>(c[1]).line.args, (std::vector<std::string>{"sh"}));
    EXPECT_TRUE(body<EntrypointCommand>(c[2]).line.prepend_shell);
    EXPECT_EQ(body<RunCommand>(c[3]).line.args, (std::vector<std::string>{"[not json"}));
    EXPECT_EQ(body<ShellCommand>(c[4]).shell, (std::vector<std::string>{"/bin/bash", "-c"}));
    EXPECT_NE(parse_error("FROM scratch\nCMD [\"a\", 1]\n").find("strings only"),
              std::string::npos);
    EXPECT_NE(parse_error("FROM scratch\nSHELL /bin/sh -c\n").find("JSON form"), std::string::npos);
}

TEST(ContainerfileParser, EnvLabelArg) {
    auto cf = parse_containerfile(
        "FROM scratch\n"
        "ENV A=1 B=\"two words\" C=3\n"
        "ENV OLD value with spaces\n"
        "LABEL \"com.example.x\"=\"y\" z=\n"
        "ARG ONE TWO=2\n",
        "f");
    const auto& c = cf.stages[0].commands;
    const auto& env = body<EnvCommand>(c[0]).env;
    ASSERT_EQ(env.size(), 3u);
    EXPECT_EQ(env[1].key, "B");
    EXPECT_EQ(env[1].value, "\"two words\"");  // quotes go with the expansion
    const auto& old = body<EnvCommand>(c[1]).env;
    ASSERT_EQ(old.size(), 1u);
    EXPECT_EQ(old[0].value, "value with spaces");
    EXPECT_TRUE(old[0].no_delimiter);
    const auto& labels = body<LabelCommand>(c[2]).labels;
    EXPECT_EQ(labels[0].key, "\"com.example.x\"");
    EXPECT_EQ(labels[1].value, "");
    const auto& args = body<ArgCommand>(c[3]).args;
    EXPECT_FALSE(args[0].value.has_value());
    EXPECT_EQ(*args[1].value, "2");
    EXPECT_NE(parse_error("FROM scratch\nENV A=1 B\n").find("can't find = in \"B\""),
              std::string::npos);
    EXPECT_NE(parse_error("FROM scratch\nENV ONLYKEY\n").find("must have two arguments"),
              std::string::npos);
}

TEST(ContainerfileParser, CopyFlagsAndHeredocs) {
    auto cf = parse_containerfile(
        "FROM scratch\n"
        "COPY --chown=1:2 --chmod=0755 --link --exclude=*.md --exclude=x a b* /dst/\n"
        "COPY <<EOF /etc/conf\n"
        "line $A\n"
        "EOF\n"
        "COPY <<-'END' <<TWO /dir/\n"
        "\ttabbed\n"
        "\tEND\n"
        "second\n"
        "TWO\n"
        "ADD --checksum=sha256:abc https://example.com/f /f\n",
        "f");
    const auto& c = cf.stages[0].commands;
    const auto& copy = body<CopyCommand>(c[0]);
    EXPECT_EQ(copy.chown, "1:2");
    EXPECT_EQ(copy.chmod, "0755");
    EXPECT_TRUE(copy.link);
    EXPECT_EQ(copy.excludes, (std::vector<std::string>{"*.md", "x"}));
    EXPECT_EQ(copy.sources, (std::vector<std::string>{"a", "b*"}));
    EXPECT_EQ(copy.dest, "/dst/");
    const auto& inline_copy = body<CopyCommand>(c[1]);
    ASSERT_EQ(inline_copy.inline_files.size(), 1u);
    EXPECT_EQ(inline_copy.inline_files[0].content, "line $A\n");
    EXPECT_TRUE(inline_copy.inline_files[0].expand);
    const auto& two = body<CopyCommand>(c[2]);
    ASSERT_EQ(two.inline_files.size(), 2u);
    EXPECT_EQ(two.inline_files[0].name, "END");
    EXPECT_EQ(two.inline_files[0].content, "tabbed\n");  // <<- strips leading tabs
    EXPECT_FALSE(two.inline_files[0].expand);            // a quoted name: no expansion
    EXPECT_EQ(two.inline_files[1].content, "second\n");
    EXPECT_EQ(c[3].line, 11);
    EXPECT_TRUE(body<CopyCommand>(c[3]).add);
    EXPECT_EQ(body<CopyCommand>(c[3]).checksum, "sha256:abc");
}

TEST(ContainerfileParser, RunHeredocAndFlags) {
    auto cf = parse_containerfile(
        "FROM scratch\n"
        "RUN --mount=type=cache,target=/var/cache --network=none <<EOF\n"
        "echo hello\n"
        "EOF\n"
        "RUN --mount=type=secret,id=tok,required <<A cat - && cat <<B\n"
        "a\n"
        "A\n"
        "b\n"
        "B\n",
        "f");
    const auto& run = body<RunCommand>(cf.stages[0].commands[0]);
    EXPECT_EQ(run.network, "none");
    ASSERT_EQ(run.mounts.size(), 1u);
    ASSERT_EQ(run.line.files.size(), 1u);
    EXPECT_EQ(run.line.files[0].content, "echo hello\n");
    EXPECT_EQ(run.line.args, (std::vector<std::string>{"<<EOF"}));
    const auto& two = body<RunCommand>(cf.stages[0].commands[1]);
    ASSERT_EQ(two.line.files.size(), 2u);
    EXPECT_EQ(two.line.files[1].content, "b\n");
    EXPECT_NE(parse_error("FROM scratch\nRUN <<EOF\necho\n").find("unterminated heredoc"),
              std::string::npos);
    EXPECT_NE(parse_error("FROM scratch\nRUN --network=bridge true\n").find("invalid network mode"),
              std::string::npos);
}

TEST(ContainerfileParser, RunMounts) {
    RunMount cache =
        parse_run_mount("type=cache,id=apt,target=/var/cache/apt,sharing=locked,uid=1,mode=0700");
    EXPECT_EQ(cache.type, "cache");
    EXPECT_FALSE(cache.readonly);
    EXPECT_EQ(cache.sharing, "locked");
    EXPECT_EQ(*cache.uid, 1u);
    EXPECT_EQ(*cache.mode, 0700u);
    RunMount bind = parse_run_mount("from=build,source=/out,target=/in");
    EXPECT_EQ(bind.type, "bind");
    EXPECT_TRUE(bind.readonly);
    EXPECT_FALSE(parse_run_mount("type=bind,target=/x,rw").readonly);
    RunMount secret = parse_run_mount("type=secret,id=tok,env=TOKEN,required=true");
    EXPECT_TRUE(secret.required);
    EXPECT_EQ(*secret.env, "TOKEN");
    EXPECT_EQ(parse_run_mount("type=tmpfs,target=/t,size=64m").size, 64 * 1024 * 1024);
    EXPECT_THROW(parse_run_mount("type=nfs,target=/x"), Error);
    EXPECT_THROW(parse_run_mount("type=bind,target=/x,mode=0700"), Error);
    EXPECT_THROW(parse_run_mount("type=cache,target=/x,bogus=1"), Error);
    EXPECT_THROW(parse_run_mount("type=bind,target=/x,required"), Error);
    EXPECT_NE(parse_error("FROM scratch\nRUN --mount=type=cache,sharing=odd,target=/c true\n")
                  .find("unsupported sharing value"),
              std::string::npos);
}

TEST(ContainerfileParser, OtherInstructions) {
    auto cf = parse_containerfile(
        "FROM scratch\n"
        "EXPOSE 8080/tcp 80\n"
        "VOLUME [\"/data\", \"/logs\"]\n"
        "VOLUME /a /b\n"
        "USER app:app\n"
        "WORKDIR /srv/app\n"
        "STOPSIGNAL SIGQUIT\n"
        "HEALTHCHECK --interval=30s --timeout=1m30s --retries=2 CMD curl -f http://x/ || exit 1\n"
        "HEALTHCHECK NONE\n"
        "ONBUILD RUN echo triggered\n"
        "MAINTAINER Someone <a@b>\n",
        "f");
    const auto& c = cf.stages[0].commands;
    EXPECT_EQ(body<ExposeCommand>(c[0]).ports, (std::vector<std::string>{"80", "8080/tcp"}));
    EXPECT_EQ(body<VolumeCommand>(c[1]).volumes, (std::vector<std::string>{"/data", "/logs"}));
    EXPECT_EQ(body<VolumeCommand>(c[2]).volumes, (std::vector<std::string>{"/a", "/b"}));
    EXPECT_EQ(body<UserCommand>(c[3]).user, "app:app");
    EXPECT_EQ(body<WorkdirCommand>(c[4]).path, "/srv/app");
    EXPECT_EQ(body<StopSignalCommand>(c[5]).signal, "SIGQUIT");
    const auto& h = body<HealthcheckCommand>(c[6]);
    EXPECT_EQ(h.test, (std::vector<std::string>{"CMD-SHELL", "curl -f http://x/ || exit 1"}));
    EXPECT_EQ(h.interval, 30'000'000'000LL);
    EXPECT_EQ(h.timeout, 90'000'000'000LL);
    EXPECT_EQ(h.retries, 2);
    EXPECT_EQ(body<HealthcheckCommand>(c[7]).test, (std::vector<std::string>{"NONE"}));
    EXPECT_EQ(body<OnbuildCommand>(c[8]).expression, "RUN echo triggered");
    EXPECT_EQ(body<MaintainerCommand>(c[9]).maintainer, "Someone <a@b>");
}

TEST(ContainerfileParser, ErrorsNameFileLineColumnAndInstruction) {
    EXPECT_EQ(parse_error("FROM scratch\n  FOO bar\n"),
              "Containerfile:2:3: FOO: unknown instruction: FOO");
    EXPECT_EQ(parse_error("FROM scratch\nCOPY --form=x a b\n"),
              "Containerfile:2:6: COPY: unknown flag: --form");
    EXPECT_EQ(parse_error("FROM scratch\nCOPY onlyone\n").substr(0, 22), "Containerfile:2:1: COP");
    EXPECT_NE(parse_error("RUN true\n").find("no build stage"), std::string::npos);
    EXPECT_NE(parse_error("FROM a b\n").find("FROM requires either one or three arguments"),
              std::string::npos);
    EXPECT_NE(parse_error("FROM a AS 1bad\n").find("invalid name for build stage"),
              std::string::npos);
    EXPECT_NE(parse_error("FROM scratch\nONBUILD ONBUILD RUN x\n").find("Chaining ONBUILD"),
              std::string::npos);
    EXPECT_NE(parse_error("FROM scratch\nONBUILD FROM x\n").find("isn't allowed"),
              std::string::npos);
    EXPECT_NE(
        parse_error("FROM scratch\nHEALTHCHECK --interval=1x CMD true\n").find("unknown unit"),
        std::string::npos);
    EXPECT_NE(parse_error("FROM scratch\nWORKDIR\n").find("WORKDIR requires exactly one"),
              std::string::npos);
    EXPECT_NE(parse_error("FROM scratch\nCOPY --link=maybe a b\n").find("expecting boolean"),
              std::string::npos);
    EXPECT_NE(parse_error("# only a comment\n").find("file with no instructions"),
              std::string::npos);
    EXPECT_NE(parse_error("").find("empty"), std::string::npos);
}

TEST(ContainerfileParser, GoDurations) {
    EXPECT_EQ(parse_go_duration("1h2m3s"), 3723'000'000'000LL);
    EXPECT_EQ(parse_go_duration("1.5s"), 1'500'000'000LL);
    EXPECT_EQ(parse_go_duration("250ms"), 250'000'000LL);
    EXPECT_EQ(parse_go_duration("0"), 0);
    EXPECT_THROW(parse_go_duration("5"), Error);
    EXPECT_THROW(parse_go_duration("5d"), Error);
}

}  // namespace
}  // namespace berth::build
