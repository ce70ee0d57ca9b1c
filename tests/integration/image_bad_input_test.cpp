// Registries that lie, fail or refuse, and layers that try to escape: each pull fails with
// one line naming the reference, digest or entry, and leaves nothing in the store. Also the
// good paths that need a registry to misbehave: retries, resumed downloads, bearer tokens,
// concurrent pulls, platform selection.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/images.hpp"
#include "support/registry.hpp"
#include "support/tar_builder.hpp"

namespace fs = std::filesystem;
using namespace berth::test;

namespace {

std::string noise(size_t size, unsigned seed) {
    std::string out(size, '\0');
    uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
    for (auto& c : out) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c = static_cast<char>(x);
    }
    return out;
}

// The one "berth: ..." line of stderr (empty when there is none or several).
std::string error_line(const std::string& err) {
    std::string found;
    size_t count = 0;
    size_t start = 0;
    while (start < err.size()) {
        size_t end = err.find('\n', start);
        if (end == std::string::npos) end = err.size();
        std::string line = err.substr(start, end - start);
        if (line.starts_with("berth: ")) {
            found = line;
            ++count;
        }
        start = end + 1;
    }
    return count == 1 ? found : "";
}

// True once pid has exited (a zombie not reaped yet, or gone).
bool has_exited(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t name_end = text.rfind(')');
    return name_end == std::string::npos || name_end + 2 >= text.size() ||
           text[name_end + 2] == 'Z';
}

// Runs berth args in store and kills it (-9) once at least `temporaries` of its temporaries
// are on disk; false when it finished first.
bool kill_with_temporaries_on_disk(const Berth& store, const std::vector<std::string>& args,
                                   size_t temporaries) {
    auto process = store.start(args);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    // Killed only while no temporary is being born (a name ending in .new, between its
    // mkdir and its lock): such a one waits out a grace period before anyone removes it.
    auto owned_and_none_born = [&] {
        size_t owned = 0;
        for (const auto& name : store.leftovers()) {
            if (name.size() >= 4 && name.compare(name.size() - 4, 4, ".new") == 0) return false;
            ++owned;
        }
        return owned >= temporaries;
    };
    while (!owned_and_none_born()) {
        if (has_exited(process->pid()) || std::chrono::steady_clock::now() > deadline) {
            process->signal(SIGKILL);
            process->wait(std::chrono::seconds(5));
            return false;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    process->signal(SIGKILL);
    process->wait(std::chrono::seconds(5));
    return true;
}

class BadInputTest : public ::testing::Test {
  protected:
    FakeRegistry registry;
    Berth berth;

    std::string ref(const std::string& name) const { return registry.host() + "/" + name; }

    // A one-layer image whose layer is tar (gzip-compressed) in repo:tag.
    std::string add_tar_image(const std::string& repo, const std::vector<TarEntry>& entries,
                              std::string* layer_digest = nullptr) {
        std::string tar = make_tar(entries);
        std::string gz = make_tar(entries, TarCompression::gzip);
        if (layer_digest) *layer_digest = sha256_digest(gz);
        return registry.add_image(repo, "1", {gz}, {tar});
    }

    // The pull fails with one line containing each fragment, and leaves nothing behind.
    void expect_clean_failure(const std::vector<std::string>& args,
                              const std::vector<std::string>& fragments) {
        auto r = berth(args);
        EXPECT_EQ(r.exit_code, 1) << r.describe();
        // Progress lines may come first; the error is one line, the last.
        std::string line = error_line(r.err);
        for (const auto& f : fragments)
            EXPECT_NE(line.find(f), std::string::npos) << "missing \"" << f << "\" in " << r.err;
        EXPECT_EQ(berth.stored_blobs(), std::vector<std::string>{});
        EXPECT_EQ(berth.snapshots(), std::vector<std::string>{});
        EXPECT_EQ(berth.leftovers(), std::vector<std::string>{});
        auto images = berth({"images", "-q"});
        EXPECT_EQ(images.out, "");
    }
};

}  // namespace

TEST_F(BadInputTest, LayerDigestMismatch) {
    std::string layer;
    add_tar_image("app", {tar_file("a", noise(100000, 1))}, &layer);
    std::string other = make_tar({tar_file("a", noise(100000, 2))}, TarCompression::gzip);
    registry.intercept = [&](const SeenRequest& r) -> std::optional<Reply> {
        if (r.path.ends_with(layer)) {
            std::string body = other;
            body.resize(make_tar({tar_file("a", noise(100000, 1))}, TarCompression::gzip).size(),
                        '\0');
            return Reply{200, {}, body};
        }
        return std::nullopt;
    };
    expect_clean_failure({"pull", ref("app:1")}, {"layer " + layer, "digest mismatch"});
}

TEST_F(BadInputTest, ManifestDigestMismatch) {
    std::string digest = add_tar_image("app", {tar_file("a", "x")});
    registry.intercept = [&](const SeenRequest& r) -> std::optional<Reply> {
        if (r.path.find("/manifests/") != std::string::npos)
            return Reply{200,
                         {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}},
                         R"({"schemaVersion":2,"config":{"mediaType":"a","digest":"sha256:)" +
                             std::string(64, '0') + R"(","size":1},"layers":[]})"};
        return std::nullopt;
    };
    expect_clean_failure({"pull", ref("app@" + digest)}, {digest, "digest mismatch"});
}

TEST_F(BadInputTest, TruncatedBlob) {
    std::string layer;
    add_tar_image("app", {tar_file("a", noise(200000, 3))}, &layer);
    std::string full = make_tar({tar_file("a", noise(200000, 3))}, TarCompression::gzip);
    registry.intercept = [&](const SeenRequest& r) -> std::optional<Reply> {
        if (r.path.ends_with(layer)) return Reply{200, {}, full.substr(0, full.size() / 2)};
        return std::nullopt;
    };
    expect_clean_failure({"pull", ref("app:1")}, {"layer " + layer, "truncated"});
}

TEST_F(BadInputTest, ManifestWithMissingLayer) {
    std::string tar = make_tar({tar_file("a", "x")});
    std::string gz = make_tar({tar_file("a", "x")}, TarCompression::gzip);
    std::string missing = sha256_digest(gz);
    registry.add_image("app", "1", {gz}, {tar});
    registry.intercept = [&](const SeenRequest& r) -> std::optional<Reply> {
        if (r.path.ends_with(missing))
            return Reply{
                404, {}, R"({"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]})"};
        return std::nullopt;
    };
    expect_clean_failure({"pull", ref("app:1")}, {missing, "not found", "BLOB_UNKNOWN"});
}

TEST_F(BadInputTest, UnsupportedLayerMediaType) {
    std::string tar = make_tar({tar_file("a", "x")});
    registry.add_image("app", "1", {tar}, {tar}, "application/vnd.oci.image.layer.v1.tar+bzip2");
    expect_clean_failure({"pull", ref("app:1")}, {sha256_digest(tar), "unsupported media type",
                                                  "application/vnd.oci.image.layer.v1.tar+bzip2"});
}

TEST_F(BadInputTest, MalformedManifestJson) {
    registry.add_manifest("app", "1", "{\"schemaVersion\": 2, \"config\": ",
                          "application/vnd.oci.image.manifest.v1+json");
    expect_clean_failure({"pull", ref("app:1")}, {ref("app:1"), "invalid JSON"});
}

TEST_F(BadInputTest, LayerWithDotDotEntry) {
    std::string layer;
    add_tar_image("app", {tar_file("ok", "fine"), tar_file("../../../../tmp/berth-escaped", "x")},
                  &layer);
    expect_clean_failure(
        {"pull", ref("app:1")},
        {"layer " + layer, "entry \"../../../../tmp/berth-escaped\"", "climbs out"});
    EXPECT_FALSE(fs::exists("/tmp/berth-escaped"));
}

TEST_F(BadInputTest, LayerWithAbsoluteSymlinkEscape) {
    std::string layer;
    add_tar_image("app", {tar_symlink("etc-link", "/etc"), tar_file("etc-link/berth-escaped", "x")},
                  &layer);
    expect_clean_failure(
        {"pull", ref("app:1")},
        {"layer " + layer, "entry \"etc-link/berth-escaped\"", "symlink \"etc-link\" -> \"/etc\""});
    EXPECT_FALSE(fs::exists("/etc/berth-escaped"));
}

TEST_F(BadInputTest, DiffIdMismatch) {
    std::string gz = make_tar({tar_file("a", "x")}, TarCompression::gzip);
    registry.add_image("app", "1", {gz}, {"not the tar"});
    expect_clean_failure({"pull", ref("app:1")}, {sha256_digest(gz), "diff ID mismatch"});
}

TEST_F(BadInputTest, RegistryAnswers401) {
    add_tar_image("app", {tar_file("a", "x")});
    registry.intercept = [](const SeenRequest& r) -> std::optional<Reply> {
        if (r.path != "/v2/")
            return Reply{401, {}, R"({"errors":[{"code":"UNAUTHORIZED","message":"no"}]})"};
        return std::nullopt;
    };
    expect_clean_failure({"pull", ref("app:1")},
                         {ref("app:1"), "authentication required", "HTTP 401"});
}

TEST_F(BadInputTest, TokenRefused) {
    add_tar_image("app", {tar_file("a", "x")});
    registry.require_bearer("user", "pass");
    expect_clean_failure({"pull", ref("app:1")}, {"token request", "HTTP 401", "berth login"});
}

TEST_F(BadInputTest, RegistryAnswers404) {
    expect_clean_failure({"pull", ref("nothing:here")},
                         {ref("nothing:here"), "not found", "MANIFEST_UNKNOWN"});
}

TEST_F(BadInputTest, RegistryAnswers500) {
    add_tar_image("app", {tar_file("a", "x")});
    registry.intercept = [](const SeenRequest& r) -> std::optional<Reply> {
        if (r.path != "/v2/") return Reply{500, {}, "internal error"};
        return std::nullopt;
    };
    expect_clean_failure({"pull", ref("app:1")}, {ref("app"), "HTTP 500"});
    // Retried with backoff before giving up.
    EXPECT_EQ(registry.server().count("HEAD", "/manifests/"), 5u);
}

TEST_F(BadInputTest, TransientErrorsAreRetried) {
    std::string layer;
    add_tar_image("app", {tar_file("a", noise(50000, 4))}, &layer);
    std::atomic<int> failures{0};
    registry.intercept = [&](const SeenRequest& r) -> std::optional<Reply> {
        if (r.path.ends_with(layer) && failures++ < 2) return Reply{503, {}, "busy"};
        return std::nullopt;
    };
    auto r = berth({"pull", ref("app:1")});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(registry.server().count("GET", layer), 3u);
}

TEST_F(BadInputTest, BrokenDownloadResumesWithRange) {
    std::string layer;
    std::vector<TarEntry> entries{tar_file("big", noise(2'000'000, 5))};
    add_tar_image("app", entries, &layer);
    std::atomic<bool> cut{false};
    std::string gz = make_tar(entries, TarCompression::gzip);
    registry.intercept = [&](const SeenRequest& r) -> std::optional<Reply> {
        if (r.path.ends_with(layer) && r.method == "GET" && !cut.exchange(true)) {
            Reply half{200, {}, gz};
            half.cut_after = gz.size() / 2;
            return half;
        }
        return std::nullopt;
    };
    auto r = berth({"pull", ref("app:1")});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    auto requests = registry.server().requests();
    auto ranged = std::count_if(requests.begin(), requests.end(), [&](const SeenRequest& q) {
        return q.path.ends_with(layer) && q.header("range").starts_with("bytes=");
    });
    EXPECT_EQ(ranged, 1);
    auto unpacked = berth({"image", "unpack", ref("app:1"), berth.root() + "/../bundle"});
    ASSERT_EQ(unpacked.exit_code, 0) << unpacked.describe();
    EXPECT_EQ(fs::file_size(berth.root() + "/../bundle/rootfs/big"), 2'000'000u);
}

TEST_F(BadInputTest, BearerTokensWithLogin) {
    add_tar_image("team/app", {tar_file("a", "x")});
    registry.require_bearer("user", "pass");
    auto login = berth({"login", "-u", "user", "-p", "pass", registry.host()});
    ASSERT_EQ(login.exit_code, 0) << login.describe();
    auto r = berth({"pull", ref("team/app:1")});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    bool scoped = false;
    for (const auto& q : registry.server().requests())
        if (q.path == "/token" &&
            q.query.find("scope=repository%3Ateam%2Fapp%3Apull") != std::string::npos &&
            q.query.find("service=fake") != std::string::npos)
            scoped = true;
    EXPECT_TRUE(scoped);
    // One token per scope, reused for every request of the pull.
    EXPECT_EQ(registry.server().count("GET", "/token"), 2u);  // login (no scope) + pull
}

TEST_F(BadInputTest, ConcurrentPullsShareOneDownload) {
    std::string layer;
    add_tar_image("app", {tar_file("big", noise(3'000'000, 6))}, &layer);
    registry.intercept = [&](const SeenRequest& r) -> std::optional<Reply> {
        if (r.path.ends_with(layer)) std::this_thread::sleep_for(std::chrono::milliseconds(500));
        return std::nullopt;
    };
    CommandResult a, b;
    std::thread first([&] { a = berth({"pull", ref("app:1")}); });
    std::thread second([&] { b = berth({"pull", ref("app:1")}); });
    first.join();
    second.join();
    EXPECT_EQ(a.exit_code, 0) << a.describe();
    EXPECT_EQ(b.exit_code, 0) << b.describe();
    EXPECT_EQ(registry.server().count("GET", layer), 1u);
    EXPECT_EQ(berth.snapshots().size(), 1u);
}

TEST_F(BadInputTest, PlatformIsChosenFromTheIndex) {
    std::string host_arch =
#if defined(__aarch64__)
        "arm64";
#else
        "amd64";
#endif
    std::string other_arch = host_arch == "amd64" ? "arm64" : "amd64";
    // One single-layer manifest per architecture; returns its bytes.
    auto manifest_for = [&](const std::string& arch) {
        std::string tar = make_tar({tar_file("arch", arch)});
        nlohmann::ordered_json config = {
            {"architecture", arch},
            {"os", "linux"},
            {"rootfs", {{"type", "layers"}, {"diff_ids", {sha256_digest(tar)}}}}};
        std::string config_bytes = config.dump();
        nlohmann::ordered_json m = {{"schemaVersion", 2},
                                    {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                                    {"config",
                                     {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                                      {"digest", registry.add_blob(config_bytes)},
                                      {"size", config_bytes.size()}}},
                                    {"layers",
                                     {{{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
                                       {"digest", registry.add_blob(tar)},
                                       {"size", tar.size()}}}}};
        std::string bytes = m.dump();
        registry.add_manifest("multi", arch, bytes, "application/vnd.oci.image.manifest.v1+json");
        return bytes;
    };
    std::string mine_bytes = manifest_for(host_arch);
    std::string other_bytes = manifest_for(other_arch);
    auto entry = [](const std::string& bytes, const std::string& arch) {
        return nlohmann::ordered_json{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                                      {"digest", sha256_digest(bytes)},
                                      {"size", bytes.size()},
                                      {"platform", {{"architecture", arch}, {"os", "linux"}}}};
    };
    nlohmann::ordered_json index = {
        {"schemaVersion", 2},
        {"mediaType", "application/vnd.oci.image.index.v1+json"},
        {"manifests", {entry(other_bytes, other_arch), entry(mine_bytes, host_arch)}}};
    std::string index_bytes = index.dump();
    registry.add_manifest("multi", "1", index_bytes, "application/vnd.oci.image.index.v1+json");

    auto mine = berth({"pull", ref("multi:1")});
    ASSERT_EQ(mine.exit_code, 0) << mine.describe();
    auto info = nlohmann::json::parse(berth({"inspect", ref("multi:1")}).out);
    EXPECT_EQ(info[0]["Architecture"], host_arch);
    EXPECT_EQ(info[0]["Digest"], sha256_digest(mine_bytes));
    EXPECT_EQ(info[0]["IndexDigest"], sha256_digest(index_bytes));

    Berth other_root;
    auto theirs = other_root({"pull", "--platform", "linux/" + other_arch, ref("multi:1")});
    ASSERT_EQ(theirs.exit_code, 0) << theirs.describe();
    info = nlohmann::json::parse(other_root({"inspect", ref("multi:1")}).out);
    EXPECT_EQ(info[0]["Architecture"], other_arch);

    Berth none;
    auto r = none({"pull", "--platform", "linux/s390x", ref("multi:1")});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("no image for platform linux/s390x"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("linux/" + other_arch), std::string::npos) << r.err;
    EXPECT_TRUE(none.stored_blobs().empty());
}

// A pull or a load killed (-9) while it unpacks leaves its temporaries (snapshots/.tmp) only
// until the next command that writes to the store: that one removes them.
TEST_F(BadInputTest, KilledPullsAndLoadsLeaveNoTemporariesAfterTheNextCommand) {
    // Four layers of many small files: their unpack takes long enough to be caught midway.
    std::vector<std::string> blobs, tars;
    for (unsigned layer = 0; layer < 4; ++layer) {
        std::vector<TarEntry> entries;
        for (unsigned i = 0; i < 1500; ++i)
            entries.push_back(tar_file("l" + std::to_string(layer) + "-" + std::to_string(i),
                                       noise(2048, layer * 10000 + i + 1)));
        tars.push_back(make_tar(entries));
        blobs.push_back(make_tar(entries, TarCompression::gzip));
    }
    registry.add_image("app", "1", blobs, tars);
    ASSERT_EQ(berth({"pull", ref("app:1")}).exit_code, 0);
    const std::string archive = berth.root() + "/../app.tar";
    auto saved = berth({"save", "-o", archive, ref("app:1")});
    ASSERT_EQ(saved.exit_code, 0) << saved.describe();

    size_t killed_with_temporaries = 0;
    for (size_t temporaries : {1, 2, 3}) {
        for (bool load : {false, true}) {
            SCOPED_TRACE((load ? "load killed with " : "pull killed with ") +
                         std::to_string(temporaries) + " temporaries");
            Berth store;
            const std::vector<std::string> args =
                load ? std::vector<std::string>{"load", "-i", archive}
                     : std::vector<std::string>{"pull", ref("app:1")};
            if (!kill_with_temporaries_on_disk(store, args, temporaries)) continue;
            if (!store.leftovers().empty()) ++killed_with_temporaries;
            auto again = store(args);
            ASSERT_EQ(again.exit_code, 0) << again.describe();
            EXPECT_EQ(store.leftovers(), std::vector<std::string>{});
            EXPECT_EQ(store.snapshots().size(), 4u);
        }
    }
    // The kills did land while temporaries were on disk (else this tested nothing).
    EXPECT_GE(killed_with_temporaries, 4u);
}
