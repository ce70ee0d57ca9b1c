// berth build against the real peers: every Containerfile under tests/build/cases is built
// by berth, by docker (Debian's dockerd 20.10 with BuildKit, support/docker.hpp) and by
// Debian's buildah (`buildah bud --isolation chroot --layers`, its own vfs storage under a temp
// dir) in the same test; the images' root filesystems are compared entry by entry (paths,
// types, modes, owners, sizes, contents, symlink targets, xattrs) and their configs field by
// field (Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Volumes, Labels, StopSignal,
// Healthcheck, OnBuild). docker decides where the two peers disagree: berth must match it
// exactly, except where a case's "docker_known" names why. A case a peer cannot build (a
// newer Dockerfile feature than dockerd 20.10's built-in frontend or buildah 1.28 reads) says
// why in its case.json ("docker", "buildah"), and berth's image is checked against BuildKit's
// documented result ("expect_*") instead. Differences where buildah departs from BuildKit are
// named in kKnownDifferences and the cases' "known".
#include <sys/stat.h>
#include <sys/xattr.h>

#include <openssl/evp.h>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/docker.hpp"
#include "support/fixture.hpp"
#include "support/http_server.hpp"
#include "support/images.hpp"

namespace fs = std::filesystem;
using namespace berth::test;

namespace {

// Where buildah's behaviour differs from BuildKit's documented one, and berth follows
// BuildKit. Each entry: a listing line prefix (a path) or a config field, and why.
const std::map<std::string, std::string> kKnownDifferences = {
    {"label:io.buildah.version", "buildah labels its images with its own version"},
    {"path:/etc/hosts",
     "buildah leaves the empty mount point it made for RUN in the image; BuildKit removes its "
     "mount stubs (executor/stubs.go)"},
    {"path:/etc/resolv.conf", "the same (buildah's RUN mount stub)"},
};

struct Case {
    std::string name;
    std::string dir;
    nlohmann::json meta;
};

void PrintTo(const Case& c, std::ostream* os) {
    *os << c.name;
}

std::vector<Case> load_cases() {
    std::vector<Case> out;
    std::string base = source_dir() + "/tests/build/cases";
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(base, ec)) {
        if (!e.is_directory()) continue;
        Case c;
        c.name = e.path().filename();
        c.dir = e.path();
        std::ifstream meta(c.dir + "/case.json");
        c.meta = meta ? nlohmann::json::parse(meta) : nlohmann::json::object();
        out.push_back(std::move(c));
    }
    std::sort(out.begin(), out.end(), [](const Case& a, const Case& b) { return a.name < b.name; });
    return out;
}

std::string sha256_hex(const std::string& data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
    std::string hex;
    static const char* digits = "0123456789abcdef";
    for (unsigned i = 0; i < len; ++i) {
        hex += digits[out[i] >> 4];
        hex += digits[out[i] & 15];
    }
    return hex;
}

// The xattrs set on entries below root, one line each ("path name=hex"), sorted.
std::string xattr_listing(const std::string& root) {
    std::vector<std::string> lines;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::none, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
        std::string path = it->path();
        char names[4096];
        ssize_t n = ::llistxattr(path.c_str(), names, sizeof names);
        for (ssize_t at = 0; n > 0 && at < n;) {
            std::string name(names + at);
            at += static_cast<ssize_t>(name.size()) + 1;
            if (name.starts_with("trusted.overlay.") || name.starts_with("user.overlay.") ||
                name == "security.selinux")
                continue;
            char value[4096];
            ssize_t v = ::lgetxattr(path.c_str(), name.c_str(), value, sizeof value);
            lines.push_back(path.substr(root.size()) + " " + name + "=" +
                            sha256_hex(std::string(value, v > 0 ? static_cast<size_t>(v) : 0)));
        }
    }
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (const auto& l : lines)
        out += l + "\n";
    return out;
}

// A config field as a comparable value: absent, null, [] and {} are all "nothing".
nlohmann::json field(const nlohmann::json& config, const std::string& name) {
    if (!config.is_object() || !config.contains(name)) return nullptr;
    const nlohmann::json& v = config[name];
    if (v.is_null() || (v.is_array() && v.empty()) || (v.is_object() && v.empty())) return nullptr;
    if (v.is_string() && v.get<std::string>().empty()) return nullptr;
    return v;
}

class BuildCompareTest : public ::testing::TestWithParam<Case> {
  protected:
    static void SetUpTestSuite() {
        shared_ = std::make_unique<Shared>();
        shared_->archive = make_busybox_image(shared_->archive_dir.path());
        auto loaded = shared_->berth({"load", "-i", shared_->archive});
        ASSERT_EQ(loaded.exit_code, 0) << loaded.describe();
        try {
            shared_->docker = std::make_unique<DockerDaemon>();
        } catch (const std::exception& e) {
            FAIL() << e.what();
        }
        auto docker_loaded = (*shared_->docker)({"load", "-i", shared_->archive});
        ASSERT_EQ(docker_loaded.exit_code, 0) << docker_loaded.describe();
        auto pulled = buildah({"pull", "-q", "docker-archive:" + shared_->archive});
        ASSERT_EQ(pulled.exit_code, 0) << pulled.describe();
        auto tagged = buildah({"tag", trimmed(pulled.out), "localhost/busybox:latest"});
        ASSERT_EQ(tagged.exit_code, 0) << tagged.describe();
    }
    static void TearDownTestSuite() {
        buildah({"rm", "--all"});
        run_command({"umount", "-R", shared_->buildah_dir.path() + "/root"});
        shared_.reset();
    }

    static CommandResult buildah(const std::vector<std::string>& args) {
        std::vector<std::string> argv = {"buildah",
                                         "--root",
                                         shared_->buildah_dir.path() + "/root",
                                         "--runroot",
                                         shared_->buildah_dir.path() + "/run",
                                         "--storage-driver",
                                         "vfs"};
        argv.insert(argv.end(), args.begin(), args.end());
        CommandOptions o;
        o.timeout = std::chrono::milliseconds(300000);
        o.env = {"BUILDAH_ISOLATION=chroot"};
        return run_command(argv, o);
    }

    static CommandResult docker(const std::vector<std::string>& args) {
        CommandOptions o;
        o.timeout = std::chrono::milliseconds(300000);
        return (*shared_->docker)(args, o);
    }

    // The case's context in a temp dir, with prepare.sh run in it.
    std::string context(const Case& c, const std::string& sub = "") {
        std::string dir = temp_.path() + "/ctx" + (sub.empty() ? "" : "-" + sub);
        run_command({"cp", "-a", c.dir + (sub.empty() ? "" : "/" + sub), dir});
        if (fs::exists(dir + "/prepare.sh")) {
            auto r = run_command({"sh", "-c", "cd " + shell_quote(dir) + " && sh prepare.sh"});
            EXPECT_EQ(r.exit_code, 0) << r.describe();
        }
        fs::remove(dir + "/prepare.sh");
        fs::remove(dir + "/case.json");
        return dir;
    }

    std::vector<std::string> case_args(const Case& c, const std::string& dir) {
        std::vector<std::string> args;
        for (const auto& a : c.meta.value("args", nlohmann::json::array())) {
            std::string s = a.get<std::string>();
            s = replace_all(s, "{dir}", dir);
            s = replace_all(s, "{port}", std::to_string(port_));
            s = replace_all(s, "{sha256}", "sha256:" + sha256_hex(payload_));
            args.push_back(s);
        }
        if (c.meta.contains("format")) {
            args.emplace_back("--format");
            args.emplace_back(c.meta["format"]);
        }
        return args;
    }

    CommandResult berth_build(const std::string& tag, const std::vector<std::string>& args,
                              const std::string& dir) {
        std::vector<std::string> argv = {"build", "--progress", "plain", "-t", tag};
        argv.insert(argv.end(), args.begin(), args.end());
        argv.push_back(dir);
        CommandOptions o;
        o.timeout = std::chrono::milliseconds(300000);
        return shared_->berth(argv, o);
    }

    CommandResult buildah_build(const std::string& tag, const std::vector<std::string>& args,
                                const std::string& dir) {
        std::vector<std::string> argv = {"bud", "--isolation", "chroot", "--layers", "-t", tag};
        argv.insert(argv.end(), args.begin(), args.end());
        argv.push_back(dir);
        return buildah(argv);
    }

    // docker build with the case's arguments (--format is berth's and buildah's only). The
    // daemon has no bridge: RUN steps use the host's network, as buildah's chroot isolation.
    CommandResult docker_build(const std::string& tag, const std::vector<std::string>& args,
                               const std::string& dir) {
        std::vector<std::string> argv = {"build", "--progress", "plain", "--network",
                                         "host",  "-t",         tag};
        for (size_t i = 0; i < args.size(); ++i) {
            if (args[i] == "--format") {
                ++i;
                continue;
            }
            argv.push_back(args[i]);
        }
        // docker's client looks for a Dockerfile only.
        if (fs::exists(dir + "/Containerfile")) {
            argv.emplace_back("-f");
            argv.emplace_back(dir + "/Containerfile");
        }
        argv.push_back(dir);
        return docker(argv);
    }

  public:
    struct Built {
        std::string rootfs;
        nlohmann::json config;
    };

  protected:
    Built berth_image(const std::string& tag) {
        Built b;
        std::string dir = temp_.path() + "/berth-unpacked";
        auto r = shared_->berth({"image", "unpack", tag, dir});
        EXPECT_EQ(r.exit_code, 0) << r.describe();
        b.rootfs = dir + "/rootfs";
        auto j =
            nlohmann::json::parse(shared_->berth({"image", "inspect", tag}).out, nullptr, false);
        if (j.is_array() && !j.empty()) b.config = j[0]["Config"];
        return b;
    }

    Built buildah_image(const std::string& tag, const std::string& format) {
        Built b;
        auto from = buildah({"from", "--pull=never", "--name", "compare-" + GetParam().name, tag});
        EXPECT_EQ(from.exit_code, 0) << from.describe();
        auto mount = buildah({"mount", "compare-" + GetParam().name});
        EXPECT_EQ(mount.exit_code, 0) << mount.describe();
        b.rootfs = trimmed(mount.out);
        auto j =
            nlohmann::json::parse(buildah({"inspect", "--type", "image", tag}).out, nullptr, false);
        if (j.is_object()) {
            const nlohmann::json& doc = format == "docker" ? j["Docker"] : j["OCIv1"];
            b.config = doc.value("config", nlohmann::json::object());
        }
        return b;
    }

    // docker's image as `docker save` writes it, unpacked by skopeo and umoci (no berth code
    // between docker and the listing).
    Built docker_image(const std::string& tag) {
        Built b;
        std::string archive = temp_.path() + "/docker-saved.tar";
        auto saved = docker({"save", "-o", archive, tag});
        EXPECT_EQ(saved.exit_code, 0) << saved.describe();
        auto copied =
            skopeo_copy("docker-archive:" + archive, "oci:" + temp_.path() + "/docker-oci:img");
        EXPECT_EQ(copied.exit_code, 0) << copied.describe();
        auto unpacked = run_command({"umoci", "unpack", "--image", temp_.path() + "/docker-oci:img",
                                     temp_.path() + "/docker-bundle"});
        EXPECT_EQ(unpacked.exit_code, 0) << unpacked.describe();
        b.rootfs = temp_.path() + "/docker-bundle/rootfs";
        auto j = nlohmann::json::parse(docker({"image", "inspect", tag}).out, nullptr, false);
        if (j.is_array() && !j.empty()) b.config = j[0]["Config"];
        return b;
    }

    void release_buildah() {
        buildah({"umount", "compare-" + GetParam().name});
        buildah({"rm", "compare-" + GetParam().name});
    }

    static bool known(const std::string& what) { return kKnownDifferences.count(what) > 0; }

    struct Shared {
        TempDir archive_dir{"berth-compare-image"};
        TempDir buildah_dir{"berth-compare-buildah"};
        std::string archive;
        Berth berth;
        std::unique_ptr<DockerDaemon> docker;
    };
    static std::unique_ptr<Shared> shared_;
    TempDir temp_{"berth-compare"};
    int port_ = 0;
    std::string payload_;
};

std::unique_ptr<BuildCompareTest::Shared> BuildCompareTest::shared_;

// The root filesystems entry by entry and the configs field by field; is_known(path or field)
// leaves a difference out. peer names the other side in messages.
void compare_images(const BuildCompareTest::Built& ours, const BuildCompareTest::Built& theirs,
                    const std::function<bool(const std::string&)>& is_known,
                    const std::string& peer) {
    auto listing = [&](const std::string& root) {
        std::string out;
        for (const auto& l : lines_of(tree_listing(root)))
            if (!is_known("path:" + l.substr(0, l.find(' ')))) out += l + "\n";
        return out;
    };
    EXPECT_EQ(listing_diff(listing(ours.rootfs), listing(theirs.rootfs)), "")
        << "berth (-) vs " << peer << " (+)";
    EXPECT_EQ(xattr_listing(ours.rootfs), xattr_listing(theirs.rootfs)) << peer;
    for (const char* name : {"Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts",
                             "Volumes", "StopSignal", "Healthcheck", "OnBuild"}) {
        if (!is_known(name)) {
            EXPECT_EQ(field(ours.config, name), field(theirs.config, name))
                << name << " vs " << peer;
        }
    }
    nlohmann::json ours_labels = field(ours.config, "Labels");
    nlohmann::json theirs_labels = field(theirs.config, "Labels");
    if (theirs_labels.is_object())
        for (auto it = theirs_labels.begin(); it != theirs_labels.end();)
            it = is_known("label:" + it.key()) ? theirs_labels.erase(it) : std::next(it);
    if (theirs_labels.is_object() && theirs_labels.empty()) theirs_labels = nullptr;
    EXPECT_EQ(ours_labels, theirs_labels) << "Labels vs " << peer;
}

// A difference named in `known` (a path also covers what is below it).
bool named_in(const nlohmann::json& known, const std::string& what) {
    if (known.contains(what)) return true;
    for (const auto& [key, reason] : known.items())
        if (key.starts_with("path:") && what.starts_with(key + "/")) return true;
    return false;
}

TEST_P(BuildCompareTest, SameImageAsDockerAndBuildah) {
    const Case& c = GetParam();
    std::unique_ptr<HttpServer> server;
    if (c.meta.contains("http")) {
        payload_ = c.meta["http"];
        server = std::make_unique<HttpServer>([this](const SeenRequest&) {
            Reply r;
            r.body = payload_;
            return r;
        });
        port_ = server->port();
    }
    std::string format = c.meta.value("format", "oci");
    const bool with_docker = !c.meta.contains("docker");
    const bool with_buildah = !c.meta.contains("buildah");
    if (c.meta.contains("parent")) {
        std::string parent = context(c, c.meta["parent"]["dir"]);
        std::string tag = c.meta["parent"]["tag"];
        auto a = berth_build(tag, case_args(c, parent), parent);
        ASSERT_EQ(a.exit_code, 0) << a.describe();
        if (with_docker) {
            auto d = docker_build(tag, case_args(c, parent), parent);
            ASSERT_EQ(d.exit_code, 0) << d.describe();
        }
        if (with_buildah) {
            auto b = buildah_build(tag, case_args(c, parent), parent);
            ASSERT_EQ(b.exit_code, 0) << b.describe();
        }
    }
    std::string dir = context(c);
    std::vector<std::string> args = case_args(c, dir);
    auto built = berth_build("localhost/case-" + c.name + ":berth", args, dir);
    ASSERT_EQ(built.exit_code, 0) << built.describe();
    Built ours = berth_image("localhost/case-" + c.name + ":berth");

    const nlohmann::json expect_files = c.meta.value("expect_files", nlohmann::json::object());
    const nlohmann::json expect_modes = c.meta.value("expect_modes", nlohmann::json::object());
    const nlohmann::json expect_absent = c.meta.value("expect_absent", nlohmann::json::array());
    const nlohmann::json expect_config = c.meta.value("expect_config", nlohmann::json::object());
    const nlohmann::json expect_listing = c.meta.value("expect_listing", nlohmann::json::array());
    // What BuildKit's documentation says of berth's image (always checked when given).
    for (const auto& [path, content] : expect_files.items())
        EXPECT_EQ(read_text(ours.rootfs + path), content.get<std::string>()) << path;
    for (const auto& [path, mode] : expect_modes.items()) {
        struct stat st {};
        ASSERT_EQ(::lstat((ours.rootfs + path).c_str(), &st), 0) << path;
        char text[8];
        std::snprintf(text, sizeof text, "%o", st.st_mode & 07777);
        EXPECT_EQ(std::string(text), mode.get<std::string>()) << path;
    }
    for (const auto& path : expect_absent)
        EXPECT_FALSE(fs::exists(fs::symlink_status(ours.rootfs + path.get<std::string>()))) << path;
    for (const auto& [name, value] : expect_config.items())
        EXPECT_EQ(field(ours.config, name), value) << name;
    std::string our_listing = tree_listing(ours.rootfs);
    for (const auto& line : expect_listing)
        EXPECT_NE(our_listing.find(line.get<std::string>()), std::string::npos) << line;

    if (with_docker) {
        // docker (BuildKit): the same image, but for what docker_known names.
        auto theirs_built = docker_build("localhost/case-" + c.name + ":docker", args, dir);
        ASSERT_EQ(theirs_built.exit_code, 0) << theirs_built.describe();
        Built theirs = docker_image("localhost/case-" + c.name + ":docker");
        const nlohmann::json docker_known = c.meta.value("docker_known", nlohmann::json::object());
        compare_images(
            ours, theirs, [&](const std::string& what) { return named_in(docker_known, what); },
            "docker");
    }
    if (!with_buildah) return;  // buildah cannot build it (case.json says why)

    auto theirs_built = buildah_build("localhost/case-" + c.name + ":buildah", args, dir);
    ASSERT_EQ(theirs_built.exit_code, 0) << theirs_built.describe();
    Built theirs = buildah_image("localhost/case-" + c.name + ":buildah", format);
    // A known difference (a path, a field) is left out; case.json names it and why.
    const nlohmann::json case_known = c.meta.value("known", nlohmann::json::object());
    compare_images(
        ours, theirs,
        [&](const std::string& what) { return known(what) || named_in(case_known, what); },
        "buildah");
    release_buildah();
}

INSTANTIATE_TEST_SUITE_P(Cases, BuildCompareTest, ::testing::ValuesIn(load_cases()),
                         [](const ::testing::TestParamInfo<Case>& param_info) {
                             std::string n = param_info.param.name;
                             for (char& ch : n)
                                 if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                             return n;
                         });

}  // namespace
