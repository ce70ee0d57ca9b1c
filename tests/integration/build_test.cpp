// berth build end to end, through the CLI with a private root and the busybox image: images
// that run, the cache (hits, a touched file, a changed byte), RUN's mounts and networks, the
// bad-input errors and what a failed or interrupted build leaves (nothing).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/fixture.hpp"
#include "support/http_server.hpp"
#include "support/images.hpp"
#include "support/podman.hpp"
#include "support/registry.hpp"

namespace fs = std::filesystem;
using namespace berth::test;
using namespace std::chrono_literals;

namespace {

class BuildTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        archive_dir_ = std::make_unique<TempDir>("berth-build-image");
        archive_ = make_busybox_image(archive_dir_->path());
    }
    static void TearDownTestSuite() { archive_dir_.reset(); }

    void SetUp() override {
        auto r = berth({"load", "-i", archive_});
        ASSERT_EQ(r.exit_code, 0) << r.describe();
    }

    void TearDown() override {
        EXPECT_EQ(mounts_under(berth.root()), std::vector<std::string>{});
        EXPECT_EQ(leftover_scratch(), std::vector<std::string>{});
        EXPECT_EQ(build_containers(), std::vector<std::string>{});
        EXPECT_EQ(cgroup_dirs_named("build-"), std::vector<std::string>{});
    }

    std::vector<std::string> leftover_scratch() const {
        std::vector<std::string> out;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(berth.root() + "/build/tmp", ec))
            out.push_back(e.path().filename());
        return out;
    }

    // berth-runtime's containers of builds (RUN steps) still known to the runtime.
    std::vector<std::string> build_containers() const {
        auto info = nlohmann::json::parse(berth({"info"}).out, nullptr, false);
        std::vector<std::string> out;
        if (!info.is_object()) return out;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(info.value("RunRoot", "") + "/runtime", ec))
            if (e.path().filename().string().starts_with("build-")) out.push_back(e.path());
        return out;
    }

    // A context directory with these files.
    std::string context(const std::map<std::string, std::string>& files) {
        std::string dir = contexts_.path() + "/ctx" + std::to_string(++contexts_made_);
        fs::create_directories(dir);
        for (const auto& [name, content] : files) {
            fs::create_directories(fs::path(dir + "/" + name).parent_path());
            std::ofstream(dir + "/" + name) << content;
        }
        return dir;
    }

    CommandResult build(const std::vector<std::string>& args, const CommandOptions& options = {}) {
        std::vector<std::string> argv = {"build", "--progress", "plain"};
        argv.insert(argv.end(), args.begin(), args.end());
        CommandOptions o = options;
        o.timeout = std::chrono::milliseconds(120000);
        return berth(argv, o);
    }

    CommandResult run(const std::string& image, const std::vector<std::string>& command) {
        std::vector<std::string> argv = {"run", "--rm", "--network", "none", image};
        argv.insert(argv.end(), command.begin(), command.end());
        return berth(argv);
    }

    nlohmann::json image_config(const std::string& image) {
        auto r = berth({"image", "inspect", image});
        auto j = nlohmann::json::parse(r.out, nullptr, false);
        if (!j.is_array() || j.empty()) return nullptr;
        return j[0];
    }

    int64_t cache_entries() const {
        auto r = run_command(
            {"python3", "-c",
             "import sqlite3,sys\n"
             "c=sqlite3.connect(sys.argv[1])\n"
             "try:\n print(c.execute('select count(*) from build_cache').fetchone()[0])\n"
             "except Exception:\n print(0)\n",
             berth.root() + "/state.db"});
        return std::stoll(trimmed(r.out).empty() ? "0" : trimmed(r.out));
    }

    // The steps the plain progress marks CACHED ("#5 [2/3] RUN x" ... "#5 CACHED"), by name.
    static std::vector<std::string> cached_steps(const std::string& progress) {
        std::map<std::string, std::string> names;
        std::vector<std::string> out;
        for (const auto& line : lines_of(progress)) {
            if (!line.starts_with("#")) continue;
            size_t space = line.find(' ');
            if (space == std::string::npos) continue;
            std::string id = line.substr(0, space), rest = line.substr(space + 1);
            if (rest == "CACHED") {
                out.push_back(names[id]);
            } else if (!names.count(id)) {
                names[id] = rest;
            }
        }
        return out;
    }
    static bool any_contains(const std::vector<std::string>& names, const std::string& part) {
        return std::any_of(names.begin(), names.end(),
                           [&](const std::string& n) { return n.find(part) != std::string::npos; });
    }

    void interrupt_leaves_nothing(int sig);

    static std::unique_ptr<TempDir> archive_dir_;
    static std::string archive_;
    Berth berth;
    TempDir contexts_{"berth-build-ctx"};
    int contexts_made_ = 0;
};

std::unique_ptr<TempDir> BuildTest::archive_dir_;
std::string BuildTest::archive_;

TEST_F(BuildTest, BuildsAnImageThatRuns) {
    std::string ctx = context({{"Containerfile",
                                "FROM localhost/busybox\n"
                                "ENV GREETING=hello PLACE=\"the world\"\n"
                                "WORKDIR /app\n"
                                "COPY data.txt sub/ ./\n"
                                "RUN echo \"$GREETING, $PLACE\" > greeting && mkdir -p /var/x\n"
                                "USER 1000:1000\n"
                                "EXPOSE 8080\n"
                                "LABEL org.example.k=v\n"
                                "CMD [\"cat\", \"greeting\"]\n"},
                               {"data.txt", "data\n"},
                               {"sub/inner.txt", "inner\n"}});
    auto r = build({"-t", "localhost/app:1", ctx});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_TRUE(trimmed(r.out).starts_with("sha256:")) << r.out;
    auto out = run("localhost/app:1", {});
    EXPECT_EQ(out.exit_code, 0) << out.describe();
    EXPECT_EQ(out.out, "hello, the world\n");
    auto files =
        run("localhost/app:1", {"sh", "-c", "cat /app/data.txt /app/inner.txt; id -u; pwd"});
    EXPECT_EQ(files.out, "data\ninner\n1000\n/app\n") << files.describe();
    auto config = image_config("localhost/app:1");
    ASSERT_TRUE(config.is_object()) << r.describe();
}

TEST_F(BuildTest, SecondBuildIsCachedAndTouchingAFileKeepsTheCache) {
    std::string ctx = context({{"Containerfile",
                                "FROM localhost/busybox\n"
                                "COPY a.txt /a.txt\n"
                                "RUN cat /a.txt > /copy.txt\n"},
                               {"a.txt", "one\n"}});
    auto first = build({"-t", "localhost/c:1", ctx});
    ASSERT_EQ(first.exit_code, 0) << first.describe();
    auto second = build({"-t", "localhost/c:1", ctx});
    ASSERT_EQ(second.exit_code, 0) << second.describe();
    EXPECT_EQ(trimmed(first.out), trimmed(second.out));
    EXPECT_NE(second.err.find("CACHED"), std::string::npos) << second.err;
    EXPECT_EQ(second.err.find("DONE", second.err.find("COPY")),
              second.err.find("DONE", second.err.find("exporting")))
        << "a step ran again:\n"
        << second.err;
    // Touched, not changed: still a hit.
    std::this_thread::sleep_for(10ms);
    run_command({"touch", ctx + "/a.txt"});
    auto touched = build({"-t", "localhost/c:1", ctx});
    ASSERT_EQ(touched.exit_code, 0) << touched.describe();
    EXPECT_EQ(trimmed(touched.out), trimmed(first.out)) << touched.err;
    // One byte changed: the COPY and the RUN after it run again.
    std::ofstream(ctx + "/a.txt") << "two\n";
    auto changed = build({"-t", "localhost/c:1", ctx});
    ASSERT_EQ(changed.exit_code, 0) << changed.describe();
    EXPECT_NE(trimmed(changed.out), trimmed(first.out));
    EXPECT_EQ(run("localhost/c:1", {"cat", "/copy.txt"}).out, "two\n");
}

TEST_F(BuildTest, SyntaxErrorNamesFileLineColumnAndStoresNothing) {
    auto blobs = berth.stored_blobs();
    std::string ctx = context({{"Containerfile", "FROM localhost/busybox\n  FROB x\n"}});
    auto r = build({"-t", "localhost/bad", ctx});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("Containerfile:2:3: FROB: unknown instruction: FROB"), std::string::npos)
        << r.err;
    EXPECT_EQ(berth.stored_blobs(), blobs);
    EXPECT_EQ(cache_entries(), 0);
}

TEST_F(BuildTest, FailingRunReportsExitCodeAndLastLines) {
    std::string ctx = context({{"Containerfile",
                                "FROM localhost/busybox\n"
                                "RUN echo step-one > /one\n"
                                "RUN echo first-line; echo last-line; exit 3\n"}});
    auto r = build({"-t", "localhost/fail", ctx});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("exit code: 3"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("last-line"), std::string::npos) << r.err;
    EXPECT_FALSE(image_config("localhost/fail").is_object());
}

TEST_F(BuildTest, InterruptLeavesNothingBehind) {
    for (int sig : {SIGINT, SIGTERM})
        interrupt_leaves_nothing(sig);
}

void BuildTest::interrupt_leaves_nothing(int sig) {
    SCOPED_TRACE("signal " + std::to_string(sig));
    auto blobs = berth.stored_blobs();
    auto snapshots = berth.snapshots();
    std::string ctx = context({{"Containerfile",
                                "FROM localhost/busybox\n"
                                "RUN echo before > /before\n"
                                "RUN echo started; sleep 60\n"}});
    CommandOptions o;
    o.output_path = contexts_.path() + "/build-" + std::to_string(sig) + ".log";
    std::vector<std::string> argv = {berth_binary(), "--root",    berth.root(),
                                     "--config",     "/dev/null", "build",
                                     "--progress",   "plain",     ctx};
    BackgroundCommand b(argv, o);
    ASSERT_TRUE(eventually(
        [&] { return read_text(o.output_path).find("started") != std::string::npos; }, 30s))
        << read_text(o.output_path);
    b.signal(sig);
    int code = b.wait(30s);
    EXPECT_EQ(code, 128 + sig) << read_text(o.output_path);
    EXPECT_EQ(mounts_under(berth.root()), std::vector<std::string>{});
    EXPECT_EQ(build_containers(), std::vector<std::string>{});
    EXPECT_EQ(berth.stored_blobs(), blobs);
    EXPECT_EQ(berth.snapshots(), snapshots);
    EXPECT_EQ(cache_entries(), 0);
}

TEST_F(BuildTest, ReproducibleWithSourceDateEpochInTwoFreshRoots) {
    std::string ctx =
        context({{"Containerfile",
                  "FROM localhost/busybox\n"
                  "COPY data.txt /data.txt\n"
                  "RUN echo written > /written && mkdir -p /dir/sub && touch /dir/sub/f\n"
                  "ENV A=1\n"
                  "LABEL l=1\n"},
                 {"data.txt", "data\n"}});
    auto digest_in = [&](const Berth& root) {
        std::string meta = contexts_.path() + "/meta-" + std::to_string(++contexts_made_) + ".json";
        CommandOptions o;
        o.env = {"SOURCE_DATE_EPOCH=1700000000"};
        std::vector<std::string> argv = {"build",           "--progress", "plain",
                                         "--metadata-file", meta,         ctx};
        auto r = root(argv, o);
        EXPECT_EQ(r.exit_code, 0) << r.describe();
        auto j = nlohmann::json::parse(read_text(meta), nullptr, false);
        return j.is_object() ? j.value("containerimage.digest", "") : std::string();
    };
    std::string first = digest_in(berth);
    Berth other;
    ASSERT_EQ(other({"load", "-i", archive_}).exit_code, 0);
    std::this_thread::sleep_for(1100ms);  // a second later: times would differ without the epoch
    std::string second = digest_in(other);
    EXPECT_FALSE(first.empty());
    EXPECT_EQ(first, second);
}

TEST_F(BuildTest, RunsWithPodmanAfterPushAndAfterSaveLoad) {
    std::string ctx = context({{"Containerfile",
                                "FROM localhost/busybox\n"
                                "RUN echo from the build > /message\n"
                                "CMD [\"cat\", \"/message\"]\n"}});
    auto r = build({"-t", "localhost/shipped:1", ctx});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    TestRegistry registry;
    std::string remote = registry.host() + "/test/shipped:1";
    auto push = berth({"push", "localhost/shipped:1", remote});
    ASSERT_EQ(push.exit_code, 0) << push.describe();
    Podman podman("/usr/sbin/runc");
    auto pulled = podman({"pull", "--tls-verify=false", remote});
    ASSERT_EQ(pulled.exit_code, 0) << pulled.describe();
    std::vector<std::string> run_args = {"run", "--rm"};
    for (const auto& f : podman.run_flags())
        run_args.push_back(f);
    auto pushed_run = run_args;
    pushed_run.push_back(remote);
    auto ran = podman(pushed_run);
    EXPECT_EQ(ran.exit_code, 0) << ran.describe();
    EXPECT_EQ(ran.out, "from the build\n");

    std::string archive = contexts_.path() + "/shipped.tar";
    auto save = berth({"save", "-o", archive, "localhost/shipped:1"});
    ASSERT_EQ(save.exit_code, 0) << save.describe();
    auto load = podman({"load", "-i", archive});
    ASSERT_EQ(load.exit_code, 0) << load.describe();
    auto loaded_run = run_args;
    loaded_run.emplace_back("localhost/shipped:1");
    auto ran_loaded = podman(loaded_run);
    EXPECT_EQ(ran_loaded.exit_code, 0) << ran_loaded.describe();
    EXPECT_EQ(ran_loaded.out, "from the build\n");
}

TEST_F(BuildTest, RegistryCacheGivesHitsToAFreshRoot) {
    std::string ctx = context({{"Containerfile",
                                "FROM localhost/busybox\n"
                                "RUN echo expensive > /expensive\n"
                                "COPY a.txt /a.txt\n"},
                               {"a.txt", "a\n"}});
    TestRegistry registry;
    std::string ref = "type=registry,ref=" + registry.host() + "/cache/app";
    auto first = build({"--cache-to", ref, "-t", "localhost/cached", ctx});
    ASSERT_EQ(first.exit_code, 0) << first.describe();
    EXPECT_NE(first.err.find("2 of 2 layers sent"), std::string::npos) << first.err;
    // A fresh root with an empty store: both steps come from the registry's cache.
    Berth fresh;
    ASSERT_EQ(fresh({"load", "-i", archive_}).exit_code, 0);
    auto second =
        fresh({"build", "--progress", "plain", "--cache-from", ref, "-t", "localhost/cached", ctx});
    ASSERT_EQ(second.exit_code, 0) << second.describe();
    EXPECT_EQ(trimmed(second.out), trimmed(first.out)) << second.err;
    size_t run_line = second.err.find("RUN echo expensive");
    ASSERT_NE(run_line, std::string::npos) << second.err;
    EXPECT_NE(second.err.find("CACHED", run_line), std::string::npos) << second.err;
    EXPECT_EQ(second.err.find("started"), std::string::npos) << second.err;
    // One file changed: only the changed layer goes.
    std::ofstream(ctx + "/a.txt") << "b\n";
    auto third = build({"--cache-to", ref, "-t", "localhost/cached", ctx});
    ASSERT_EQ(third.exit_code, 0) << third.describe();
    EXPECT_NE(third.err.find("1 of 2 layers sent"), std::string::npos) << third.err;
}

TEST_F(BuildTest, LocalCacheExportAndImport) {
    std::string ctx = context({{"Containerfile", "FROM localhost/busybox\nRUN echo hi > /hi\n"}});
    std::string dir = contexts_.path() + "/cache-dir";
    auto first = build({"--cache-to", "type=local,dest=" + dir, ctx});
    ASSERT_EQ(first.exit_code, 0) << first.describe();
    EXPECT_TRUE(fs::exists(dir + "/index.json"));
    Berth fresh;
    ASSERT_EQ(fresh({"load", "-i", archive_}).exit_code, 0);
    auto second =
        fresh({"build", "--progress", "plain", "--cache-from", "type=local,src=" + dir, ctx});
    ASSERT_EQ(second.exit_code, 0) << second.describe();
    EXPECT_NE(second.err.find("CACHED"), std::string::npos) << second.err;
    EXPECT_EQ(trimmed(second.out), trimmed(first.out));
}

TEST_F(BuildTest, BadInputIsOneLineAndStoresNothing) {
    auto blobs = berth.stored_blobs();
    auto check = [&](const std::map<std::string, std::string>& files, const std::string& expected,
                     const std::vector<std::string>& extra = {}) {
        std::string ctx = context(files);
        std::vector<std::string> args = extra;
        args.push_back(ctx);
        auto r = build(args);
        EXPECT_EQ(r.exit_code, 1) << r.describe();
        EXPECT_NE(r.err.find(expected), std::string::npos) << "expected \"" << expected << "\"\n"
                                                           << r.err;
        EXPECT_EQ(berth.stored_blobs(), blobs) << expected;
        EXPECT_EQ(cache_entries(), 0) << expected;
    };
    check({{"Containerfile", "FROM localhost/busybox\nCOPY --from=nosuchstage /a /b\n"}},
          "--from=nosuchstage: no stage or image by that name");
    check({{"Containerfile", "FROM localhost/busybox\nCOPY ../outside /x\n"}},
          "forbidden path outside the build context");
    std::string escaping = context({{"Containerfile", "FROM localhost/busybox\nCOPY link /x\n"}});
    fs::create_symlink("/etc/passwd", escaping + "/link");
    auto esc = build({escaping});
    EXPECT_EQ(esc.exit_code, 1);
    EXPECT_NE(esc.err.find("a symlink leads outside the build context"), std::string::npos)
        << esc.err;
    check(
        {{"Containerfile", "FROM localhost/busybox\nRUN --mount=type=secret,id=s,required true\n"}},
        "secret s is required but was not given");
    check({{"Containerfile", "FROM localhost/nosuchimage\n"}}, "FROM localhost/nosuchimage");
    check({{"Containerfile", "FROM localhost/busybox\n"}}, "only linux/",
          {"--platform", "linux/s390x"});
}

// Independent stages run at the same time, and a stage the target does not need does not run
// (it would fail the build).
TEST_F(BuildTest, IndependentStagesRunInParallelAndUnneededOnesAreSkipped) {
    std::string ctx = context({{"Containerfile",
                                "FROM localhost/busybox AS a\n"
                                "RUN sleep 2 && echo a > /a\n"
                                "FROM localhost/busybox AS b\n"
                                "RUN sleep 2 && echo b > /b\n"
                                "FROM localhost/busybox AS unneeded\n"
                                "RUN echo this must not run; exit 9\n"
                                "FROM localhost/busybox\n"
                                "COPY --from=a /a /a\n"
                                "COPY --from=b /b /b\n"}});
    auto r = build({"-t", "localhost/parallel", ctx});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.err.find("this must not run"), std::string::npos) << r.err;
    // Both RUNs started before either ended (the plain view prints a step's start and its
    // DONE line as they happen): they ran at the same time, not one after the other.
    auto step_id = [&](const std::string& name) {
        size_t at = r.err.find(name);
        if (at == std::string::npos) return std::string();
        size_t line = r.err.rfind('\n', at);
        line = line == std::string::npos ? 0 : line + 1;
        return r.err.substr(line, r.err.find(' ', line) - line);
    };
    std::string a = step_id("RUN sleep 2 && echo a"), b = step_id("RUN sleep 2 && echo b");
    ASSERT_FALSE(a.empty() || b.empty()) << r.err;
    size_t last_start =
        std::max(r.err.find("RUN sleep 2 && echo a"), r.err.find("RUN sleep 2 && echo b"));
    size_t first_done = std::min(r.err.find("\n" + a + " DONE"), r.err.find("\n" + b + " DONE"));
    EXPECT_LT(last_start, first_done) << r.err;
    EXPECT_EQ(run("localhost/parallel", {"cat", "/a", "/b"}).out, "a\nb\n");
}

// The context as a tarball on stdin or from a URL, a Containerfile alone on stdin, and the
// outputs that are files (--output local, oci, docker, tar; --iidfile), not a stored image.
TEST_F(BuildTest, StdinContextsAndFileOutputs) {
    std::string ctx = context({{"Containerfile",
                                "FROM localhost/busybox\n"
                                "COPY data.txt /data.txt\n"
                                "RUN echo ran > /ran\n"},
                               {"data.txt", "from the tarball\n"}});
    auto tarball = run_command({"tar", "-C", ctx, "-c", "."});
    ASSERT_EQ(tarball.exit_code, 0) << tarball.describe();
    CommandOptions piped;
    piped.input = tarball.out;
    std::string iid = contexts_.path() + "/iid";
    auto from_tar = build({"-t", "localhost/stdin-tar", "--iidfile", iid, "-"}, piped);
    ASSERT_EQ(from_tar.exit_code, 0) << from_tar.describe();
    EXPECT_EQ(read_text(iid), trimmed(from_tar.out));
    EXPECT_EQ(run("localhost/stdin-tar", {"cat", "/data.txt", "/ran"}).out,
              "from the tarball\nran\n");

    // The same tarball, gzipped, from a URL.
    auto gzipped = run_command({"gzip", "-c"}, piped);
    ASSERT_EQ(gzipped.exit_code, 0) << gzipped.describe();
    HttpServer server([&](const SeenRequest& request) {
        Reply reply;
        if (request.path != "/ctx.tar.gz")
            reply.status = 404;
        else
            reply.body = gzipped.out;
        return reply;
    });
    auto from_url = build({"-t", "localhost/url-ctx", "http://" + server.host() + "/ctx.tar.gz"});
    ASSERT_EQ(from_url.exit_code, 0) << from_url.describe();
    EXPECT_EQ(trimmed(from_url.out), trimmed(from_tar.out)) << from_url.err;
    auto missing_url = build({"http://" + server.host() + "/nothing.tar"});
    EXPECT_EQ(missing_url.exit_code, 1) << missing_url.describe();
    EXPECT_NE(missing_url.err.find("HTTP status 404"), std::string::npos) << missing_url.err;

    CommandOptions text;
    text.input = "FROM localhost/busybox\nRUN echo alone > /alone\n";
    auto alone = build({"-t", "localhost/stdin-file", "-"}, text);
    ASSERT_EQ(alone.exit_code, 0) << alone.describe();
    EXPECT_EQ(run("localhost/stdin-file", {"cat", "/alone"}).out, "alone\n");

    const std::string out = contexts_.path() + "/out";
    auto files = build({"--output", "type=local,dest=" + out + "/rootfs", "--output",
                        "type=oci,dest=" + out + "/oci.tar", "--output",
                        "type=docker,dest=" + out + "/docker.tar", "--output",
                        "type=tar,dest=" + out + "/rootfs.tar", ctx});
    ASSERT_EQ(files.exit_code, 0) << files.describe();
    EXPECT_EQ(read_text(out + "/rootfs/data.txt"), "from the tarball\n");
    EXPECT_EQ(read_text(out + "/rootfs/ran"), "ran\n");
    EXPECT_TRUE(fs::exists(out + "/rootfs/bin/busybox"));
    auto tar_list = run_command({"tar", "-tf", out + "/rootfs.tar"});
    EXPECT_NE(tar_list.out.find("ran"), std::string::npos) << tar_list.describe();
    // The archives are images other tools read: skopeo inspects both.
    for (const std::string& ref :
         {"oci-archive:" + out + "/oci.tar", "docker-archive:" + out + "/docker.tar"}) {
        auto inspected = run_command({"skopeo", "inspect", "--config", ref});
        EXPECT_EQ(inspected.exit_code, 0) << ref << "\n" << inspected.describe();
    }
}

// The build cache shows in `system df` and `builder prune` empties it: the next build runs
// its steps again.
TEST_F(BuildTest, SystemDfShowsTheBuildCacheAndBuilderPruneEmptiesIt) {
    std::string ctx = context(
        {{"Containerfile",
          "FROM localhost/busybox\n"
          "RUN --mount=type=cache,target=/c head -c 100000 /dev/zero | tee /c/z > /zeros\n"}});
    // Without a name the image is not the layer's keeper (the cache alone keeps it), and
    // with a cache mount the cache also holds a directory.
    ASSERT_EQ(build({ctx}).exit_code, 0);
    auto cache_line = [&] {
        auto df = berth({"system", "df", "--format", "json"});
        auto j = nlohmann::json::parse(df.out, nullptr, false);
        return j.is_object() ? j.value("BuildCache", nlohmann::json()) : nlohmann::json();
    };
    auto before = cache_line();
    ASSERT_TRUE(before.is_object()) << berth({"system", "df"}).describe();
    EXPECT_GE(before["Count"].get<int64_t>(), 1);  // the RUN's entry
    EXPECT_GT(before["Size"].get<int64_t>(), 0);
    EXPECT_NE(berth({"system", "df"}).out.find("Build Cache"), std::string::npos);
    auto pruned = berth({"builder", "prune", "-f"});
    ASSERT_EQ(pruned.exit_code, 0) << pruned.describe();
    EXPECT_NE(pruned.out.find("Total reclaimed space"), std::string::npos) << pruned.out;
    EXPECT_EQ(cache_line()["Count"], 0);
    auto again = build({ctx});
    ASSERT_EQ(again.exit_code, 0) << again.describe();
    size_t run_line = again.err.find("head -c");
    ASSERT_NE(run_line, std::string::npos) << again.err;
    EXPECT_EQ(again.err.find("CACHED", run_line), std::string::npos) << again.err;
}

// Ignore files: <Containerfile>.dockerignore beside -f FILE wins over the context's
// .dockerignore; .containerignore is read like .dockerignore.
TEST_F(BuildTest, IgnoreFilesBesideTheContainerfileAndContainerignore) {
    std::string ctx =
        context({{"build/App.containerfile", "FROM localhost/busybox\nCOPY . /ctx/\n"},
                 {"build/App.containerfile.dockerignore", "b.txt\nbuild\n"},
                 {".dockerignore", "a.txt\n"},
                 {"a.txt", "a\n"},
                 {"b.txt", "b\n"}});
    auto r = build({"-t", "localhost/ignored", "-f", ctx + "/build/App.containerfile", ctx});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    auto listed = run("localhost/ignored", {"ls", "-A", "/ctx"});
    EXPECT_EQ(listed.out, ".dockerignore\na.txt\n") << listed.describe();

    std::string other = context({{"Containerfile", "FROM localhost/busybox\nCOPY . /ctx/\n"},
                                 {".containerignore", "*.log\n!keep.log\n"},
                                 {"x.log", "x\n"},
                                 {"keep.log", "k\n"}});
    auto r2 = build({"-t", "localhost/ignored2", other});
    ASSERT_EQ(r2.exit_code, 0) << r2.describe();
    auto listed2 = run("localhost/ignored2", {"ls", "-A", "/ctx"});
    EXPECT_EQ(listed2.out, ".containerignore\nContainerfile\nkeep.log\n") << listed2.describe();
}

// RUN --mount=type=ssh without an agent, and # syntax= (accepted, one notice), and
// --compression zstd (the layers' media type, and the image runs).
TEST_F(BuildTest, SshWithoutAgentSyntaxDirectiveAndZstd) {
    std::string ctx =
        context({{"Containerfile", "FROM localhost/busybox\nRUN --mount=type=ssh true\n"}});
    CommandOptions no_agent;
    no_agent.env = {"SSH_AUTH_SOCK="};
    auto ssh = build({ctx}, no_agent);
    EXPECT_EQ(ssh.exit_code, 1) << ssh.describe();
    EXPECT_NE(ssh.err.find("Containerfile:2: RUN: --mount=type=ssh: no SSH agent"),
              std::string::npos)
        << ssh.err;

    // With an agent (--ssh default: SSH_AUTH_SOCK), RUN sees a socket at SSH_AUTH_SOCK, and
    // nothing of it stays in the image.
    std::string agent_sock = contexts_.path() + "/agent.sock";
    BackgroundCommand agent({"ssh-agent", "-D", "-a", agent_sock});
    ASSERT_TRUE(eventually([&] { return fs::exists(agent_sock); }, 10s));
    std::string with_ssh = context(
        {{"Containerfile",
          "FROM localhost/busybox\n"
          "RUN --mount=type=ssh test -S \"$SSH_AUTH_SOCK\" && echo \"$SSH_AUTH_SOCK\" > /ssh\n"}});
    CommandOptions with_agent;
    with_agent.env = {"SSH_AUTH_SOCK=" + agent_sock};
    auto ssh_ok = build({"-t", "localhost/ssh", "--ssh", "default", with_ssh}, with_agent);
    ASSERT_EQ(ssh_ok.exit_code, 0) << ssh_ok.describe();
    EXPECT_EQ(
        run("localhost/ssh", {"sh", "-c", "cat /ssh; test -e /run/buildkit || echo absent"}).out,
        "/run/buildkit/ssh_agent.0\nabsent\n");
    agent.signal(SIGTERM);
    agent.wait(5s);

    std::string zstd = context({{"Containerfile",
                                 "# syntax=docker/dockerfile:1\n"
                                 "FROM localhost/busybox\n"
                                 "RUN echo packed > /packed\n"}});
    std::string meta = contexts_.path() + "/zstd.json";
    auto r =
        build({"-t", "localhost/zstd", "--compression", "zstd", "--metadata-file", meta, zstd});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    size_t notice = r.err.find("# syntax=docker/dockerfile:1");
    EXPECT_NE(notice, std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("# syntax=", notice + 1), std::string::npos) << r.err;
    EXPECT_EQ(run("localhost/zstd", {"cat", "/packed"}).out, "packed\n");
    auto m = nlohmann::json::parse(read_text(meta), nullptr, false);
    ASSERT_TRUE(m.is_object()) << read_text(meta);
    std::string digest = m.value("containerimage.digest", "");
    ASSERT_TRUE(digest.starts_with("sha256:")) << digest;
    std::string manifest = read_text(berth.root() + "/blobs/sha256/" + digest.substr(7));
    EXPECT_NE(manifest.find("application/vnd.oci.image.layer.v1.tar+zstd"), std::string::npos)
        << manifest;
}

// The flags that change what runs or what the image says: --label, --no-cache,
// --no-cache-filter, --pull never, proxy build args (they reach RUN undeclared and stay out of
// the history), FROM --platform=$BUILDPLATFORM, and the live view on a terminal.
TEST_F(BuildTest, FlagsProxyArgsPlatformAndTtyProgress) {
    std::string ctx = context({{"Containerfile",
                                "FROM --platform=$BUILDPLATFORM localhost/busybox AS first\n"
                                "RUN echo first > /first\n"
                                "FROM localhost/busybox\n"
                                "COPY --from=first /first /first\n"
                                "RUN echo \"proxy=$HTTP_PROXY\" > /proxy\n"}});
    std::string meta = contexts_.path() + "/flags.json";
    auto r = build({"-t", "localhost/flags", "--label", "org.example.from=flag", "--build-arg",
                    "HTTP_PROXY=http://proxy.invalid:3128", "--metadata-file", meta, ctx});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(run("localhost/flags", {"cat", "/first", "/proxy"}).out,
              "first\nproxy=http://proxy.invalid:3128\n");
    auto config = image_config("localhost/flags");
    ASSERT_TRUE(config.is_object());
    EXPECT_EQ(config["Config"]["Labels"]["org.example.from"], "flag") << config.dump();
    auto m = nlohmann::json::parse(read_text(meta), nullptr, false);
    std::string config_digest = m.value("containerimage.config.digest", "");
    ASSERT_TRUE(config_digest.starts_with("sha256:")) << read_text(meta);
    std::string config_blob = read_text(berth.root() + "/blobs/sha256/" + config_digest.substr(7));
    EXPECT_NE(config_blob.find("\"history\""), std::string::npos) << config_blob;
    EXPECT_EQ(config_blob.find("proxy.invalid"), std::string::npos) << config_blob;

    // --no-cache-filter first: that stage's RUN runs again, the final stage's RUN is a hit
    // only if its inputs did not change (the COPY --from gives the same file: it is).
    auto filtered = build({"-t", "localhost/flags", "--no-cache-filter", "first", "--build-arg",
                           "HTTP_PROXY=http://proxy.invalid:3128", ctx});
    ASSERT_EQ(filtered.exit_code, 0) << filtered.describe();
    auto hits = cached_steps(filtered.err);
    EXPECT_FALSE(any_contains(hits, "RUN echo first")) << filtered.err;
    EXPECT_TRUE(any_contains(hits, "RUN echo \"proxy")) << filtered.err;

    // --no-cache: no step comes from the cache.
    auto uncached = build({"-t", "localhost/flags", "--no-cache", ctx});
    ASSERT_EQ(uncached.exit_code, 0) << uncached.describe();
    auto uncached_hits = cached_steps(uncached.err);
    EXPECT_FALSE(any_contains(uncached_hits, "RUN")) << uncached.err;
    EXPECT_FALSE(any_contains(uncached_hits, "COPY")) << uncached.err;

    // --pull never: a base image that is not here is a one-line error.
    std::string missing =
        context({{"Containerfile", "FROM 127.0.0.1:1/nothing/here:1\nRUN true\n"}});
    auto never = build({"--pull", "never", missing});
    EXPECT_EQ(never.exit_code, 1) << never.describe();
    EXPECT_NE(never.err.find("FROM 127.0.0.1:1/nothing/here:1"), std::string::npos) << never.err;

    // On a terminal: BuildKit's live view (redrawn in place) ending with FINISHED.
    auto tty = run_with_terminal({berth_binary(), "--root", berth.root(), "--config", "/dev/null",
                                  "build", "-t", "localhost/flags", ctx});
    EXPECT_EQ(tty.exit_code, 0) << tty.describe();
    EXPECT_NE(tty.out.find("\x1b[1A\x1b[2K"), std::string::npos) << tty.out;
    EXPECT_NE(tty.out.find("FINISHED"), std::string::npos) << tty.out;
    EXPECT_NE(tty.out.find("CACHED"), std::string::npos) << tty.out;
}

// A root removed with rm -rf and made again at the same path finds the bridge its RUN steps
// used still there (named after the root, with the subnet it had): RUN still works.
TEST_F(BuildTest, RootMadeAgainAtTheSamePathReusesItsBridge) {
    TempDir dir("berth-build-again");
    const std::string root = dir.path() + "/root";
    auto at_root = [&](const std::vector<std::string>& args, const CommandOptions& o = {}) {
        std::vector<std::string> argv = {berth_binary(), "--root", root, "--config", "/dev/null"};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_command(argv, o);
    };
    std::string ctx = context(
        {{"Containerfile", "FROM localhost/busybox\nRUN ip -o -4 addr show eth0 > /addr\n"}});
    std::string bridge, run_root;
    for (int round = 0; round < 2; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        ASSERT_EQ(at_root({"load", "-i", archive_}).exit_code, 0);
        CommandOptions o;
        o.timeout = std::chrono::milliseconds(120000);
        auto r = at_root({"build", "--progress", "plain", "--no-cache", ctx}, o);
        EXPECT_EQ(r.exit_code, 0) << r.describe();
        auto info = nlohmann::json::parse(at_root({"info"}).out, nullptr, false);
        run_root = info.is_object() ? info.value("RunRoot", "") : "";
        ASSERT_FALSE(run_root.empty());
        bridge = "berth" + run_root.substr(run_root.size() - 8);
        EXPECT_EQ(run_command({"ip", "link", "show", bridge}).exit_code, 0) << bridge;
        EXPECT_EQ(mounts_under(root), std::vector<std::string>{});
        fs::remove_all(root);
    }
    run_command({"ip", "link", "del", bridge});
    fs::remove_all(run_root);
}

}  // namespace
