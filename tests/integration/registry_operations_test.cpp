// Running berth registry serve: the pull-through cache (with Debian's docker-registry as
// the upstream, stopped to prove cached content is still served), garbage collection,
// recovery after kill -9, and a graceful SIGTERM.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "distribution/client/http.hpp"
#include "support/berth_registry.hpp"
#include "support/images.hpp"
#include "support/raw_http.hpp"
#include "support/registry.hpp"
#include "support/registry_http.hpp"

namespace fs = std::filesystem;
using namespace berth::test;
using berth::distribution::HttpResponse;

namespace {

std::string metric(const std::string& text, const std::string& name) {
    const size_t at = text.find("\n" + name + " ");
    if (at == std::string::npos) return {};
    const size_t start = at + name.size() + 2;
    return text.substr(start, text.find('\n', start) - start);
}

// CPU seconds a process has used: utime + stime of /proc/PID/stat (fields 14 and 15).
double cpu_seconds(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t name_end = text.rfind(')');
    if (name_end == std::string::npos) return -1;
    std::istringstream fields(text.substr(name_end + 2));
    std::string skipped;
    for (int field = 3; field < 14; ++field)
        fields >> skipped;
    long user = 0, system = 0;
    fields >> user >> system;
    return static_cast<double>(user + system) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// The upload sessions in a registry's uploads/ (not the running servers' owner files).
std::vector<std::string> upload_sessions(const std::string& root) {
    std::vector<std::string> out;
    for (const auto& entry : fs::directory_iterator(root + "/uploads"))
        if (!entry.path().filename().string().starts_with(".owner-"))
            out.push_back(entry.path().filename().string());
    return out;
}

size_t count_of(const std::string& text, const std::string& what) {
    size_t count = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++count;
    return count;
}

// 1,100 idle connections held against a server started with a soft file limit of 1024 (what
// systemd gives a service) and the given hard limit: new clients are answered at once, and
// the server does not spin. Returns the statuses the new clients got.
std::vector<int> new_clients_beside_idle_ones(BerthRegistry& registry) {
    std::vector<std::unique_ptr<RawConnection>> idle;
    for (int i = 0; i < 1100; ++i)
        idle.push_back(std::make_unique<RawConnection>(registry.port()));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // all accepted (or refused)
    const double cpu_before = cpu_seconds(registry.pid());
    const auto started = std::chrono::steady_clock::now();
    std::vector<int> statuses;
    for (int i = 0; i < 5; ++i) {
        const auto asked = std::chrono::steady_clock::now();
        const std::string response = raw_request(
            registry.port(), "GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        const auto took = std::chrono::steady_clock::now() - asked;
        EXPECT_LT(took, std::chrono::milliseconds(1000)) << "client " << i << ": " << response;
        statuses.push_back(raw_status(response));
    }
    std::this_thread::sleep_until(started + std::chrono::seconds(2));
    const double cpu = cpu_seconds(registry.pid()) - cpu_before;
    EXPECT_LT(cpu, 0.3) << "CPU seconds used in 2 s beside 1,100 idle connections";
    return statuses;
}

}  // namespace

TEST(RegistryOperationsTest, PullThroughCacheServesCachedContentWhenUpstreamIsDown) {
    TempDir work("berth-rego");
    // The upstream wants credentials; the cache has its own.
    auto upstream = std::make_unique<TestRegistry>("mirror", "upstream-secret");
    const std::string layout = make_busybox_layout(work.path());
    ASSERT_EQ(
        skopeo_copy("oci:" + layout + ":latest", "docker://" + upstream->host() + "/library/bb:1",
                    {"--dest-creds", "mirror:upstream-secret"})
            .exit_code,
        0);
    BerthRegistry cache({"--upstream", "http://" + upstream->host(), "--upstream-username",
                         "mirror", "--upstream-password", "upstream-secret", "--cache-ttl", "0"});
    const std::string source = "docker://" + cache.host() + "/library/bb:1";

    auto first = skopeo_copy(source, "oci:" + work.path() + "/first:1");
    ASSERT_EQ(first.exit_code, 0) << first.describe() << cache.log();
    auto metrics = registry_call("GET", cache.url() + "/metrics").body;
    EXPECT_NE(metric(metrics, "berth_registry_cache_misses_total"), "0") << metrics;
    // Stored like a push: the manifest is linked and the blobs (streamed to skopeo while they
    // were fetched) land in the store once verified.
    EXPECT_TRUE(fs::exists(cache.root() + "/repositories/library/bb/_tags/1"));
    EXPECT_TRUE(eventually([&] {
        const std::string links = cache.root() + "/repositories/library/bb/_blobs/sha256";
        return fs::exists(links) &&
               std::distance(fs::directory_iterator(links), fs::directory_iterator()) == 2;
    }));
    EXPECT_EQ(
        registry_call("HEAD", cache.url() + "/v2/library/bb/blobs/" + sha256_digest("not there"))
            .status,
        404);

    // A push to the cache is refused: it mirrors, it does not accept.
    auto push = registry_call("POST", cache.url() + "/v2/library/bb/blobs/uploads/");
    EXPECT_EQ(push.status, 405);
    EXPECT_NE(push.body.find("UNSUPPORTED"), std::string::npos);

    // The tag moves upstream (the same image in Docker's format has another digest); with the
    // TTL expired the cache asks again and follows it.
    const std::string before = registry_call("HEAD", cache.url() + "/v2/library/bb/manifests/1")
                                   .header("docker-content-digest")
                                   .value_or("");
    ASSERT_EQ(
        skopeo_copy("oci:" + layout + ":latest", "docker://" + upstream->host() + "/library/bb:1",
                    {"--dest-creds", "mirror:upstream-secret", "--format", "v2s2"})
            .exit_code,
        0);
    const std::string after = registry_call("HEAD", cache.url() + "/v2/library/bb/manifests/1")
                                  .header("docker-content-digest")
                                  .value_or("");
    EXPECT_FALSE(after.empty());
    EXPECT_NE(after, before);

    upstream.reset();  // upstream gone; the tag's TTL (0) has expired, so it is revalidated
    auto second = skopeo_copy(source, "oci:" + work.path() + "/second:1");
    EXPECT_EQ(second.exit_code, 0) << second.describe() << cache.log();
    auto a = run_command({"skopeo", "inspect", "oci:" + work.path() + "/first:1"});
    auto b = run_command({"skopeo", "inspect", "oci:" + work.path() + "/second:1"});
    EXPECT_EQ(nlohmann::json::parse(a.out)["Digest"], nlohmann::json::parse(b.out)["Digest"]);
    metrics = registry_call("GET", cache.url() + "/metrics").body;
    EXPECT_NE(metric(metrics, "berth_registry_cache_hits_total"), "0");
    // What was never cached is unknown, not an error page.
    auto missing = registry_call("GET", cache.url() + "/v2/library/other/manifests/latest");
    EXPECT_EQ(missing.status, 404);
}

TEST(RegistryOperationsTest, GarbageCollectionSweepsOnlyWhatNothingReferences) {
    TempDir work("berth-rego");
    BerthRegistry registry;
    const std::string layout = make_busybox_layout(work.path());
    ASSERT_EQ(skopeo_copy("oci:" + layout + ":latest", "docker://" + registry.host() + "/keep/bb:1")
                  .exit_code,
              0);
    ASSERT_EQ(skopeo_copy("oci:" + layout + ":latest", "docker://" + registry.host() + "/drop/bb:1",
                          {"--format", "v2s2"})
                  .exit_code,
              0);
    // An orphan blob (uploaded, never referenced) and an untagged manifest.
    const std::string orphan = "orphan blob";
    ASSERT_EQ(
        registry_call("POST",
                      registry.url() + "/v2/keep/bb/blobs/uploads/?digest=" + sha256_digest(orphan),
                      {}, orphan)
            .status,
        201);
    auto untagged_digest = registry_call("HEAD", registry.url() + "/v2/drop/bb/manifests/1")
                               .header("docker-content-digest")
                               .value_or("");
    ASSERT_EQ(registry_call("DELETE", registry.url() + "/v2/drop/bb/manifests/1").status,
              202);  // the tag only

    auto gc = [&](std::vector<std::string> flags) {
        std::vector<std::string> argv{berth_binary(),  "registry", "gc", "--root",
                                      registry.root(), "--grace",  "0"};
        argv.insert(argv.end(), flags.begin(), flags.end());
        return run_command(argv);
    };
    auto dry = gc({"--dry-run", "--delete-untagged"});
    ASSERT_EQ(dry.exit_code, 0) << dry.describe();
    EXPECT_NE(dry.out.find("would remove blob " + sha256_digest(orphan)), std::string::npos)
        << dry.out;
    EXPECT_NE(dry.out.find("would remove manifest drop/bb@" + untagged_digest), std::string::npos)
        << dry.out;
    EXPECT_EQ(
        registry_call("GET", registry.url() + "/v2/keep/bb/blobs/" + sha256_digest(orphan)).status,
        200);

    // Without --delete-untagged the untagged manifest (and its blobs) stay.
    auto plain = gc({});
    ASSERT_EQ(plain.exit_code, 0) << plain.describe();
    EXPECT_EQ(
        registry_call("GET", registry.url() + "/v2/keep/bb/blobs/" + sha256_digest(orphan)).status,
        404);
    EXPECT_EQ(
        registry_call("GET", registry.url() + "/v2/drop/bb/manifests/" + untagged_digest).status,
        200);

    auto full = gc({"--delete-untagged"});
    ASSERT_EQ(full.exit_code, 0) << full.describe();
    EXPECT_EQ(
        registry_call("GET", registry.url() + "/v2/drop/bb/manifests/" + untagged_digest).status,
        404);
    // The tagged image is whole: a pull gets every blob.
    auto pulled =
        skopeo_copy("docker://" + registry.host() + "/keep/bb:1", "oci:" + work.path() + "/out:1");
    EXPECT_EQ(pulled.exit_code, 0) << pulled.describe();
    // A blob within the grace period is never swept (an upload whose manifest is still coming).
    const std::string fresh = "fresh blob";
    ASSERT_EQ(
        registry_call("POST",
                      registry.url() + "/v2/keep/bb/blobs/uploads/?digest=" + sha256_digest(fresh),
                      {}, fresh)
            .status,
        201);
    auto graced = run_command({berth_binary(), "registry", "gc", "--root", registry.root()});
    ASSERT_EQ(graced.exit_code, 0);
    EXPECT_EQ(
        registry_call("GET", registry.url() + "/v2/keep/bb/blobs/" + sha256_digest(fresh)).status,
        200);
    // An upload in flight while gc runs (even with no grace at all) finishes intact.
    auto session = registry_call("POST", registry.url() + "/v2/keep/bb/blobs/uploads/");
    const std::string location = session.header("location").value_or("");
    ASSERT_EQ(registry_call("PATCH", registry.url() + location, {}, "in flight ").status, 202);
    ASSERT_EQ(gc({"--delete-untagged"}).exit_code, 0);
    auto finished = registry_call(
        "PUT", registry.url() + location + "?digest=" + sha256_digest("in flight data"), {},
        "data");
    EXPECT_EQ(finished.status, 201) << finished.body;
    EXPECT_EQ(registry_call("GET",
                            registry.url() + "/v2/keep/bb/blobs/" + sha256_digest("in flight data"))
                  .body,
              "in flight data");
}

TEST(RegistryOperationsTest, KillNineLeavesARegistryThatServesWhatItAcknowledged) {
    TempDir work("berth-rego");
    BerthRegistry registry({"--upload-expiry", "1"});
    const std::string layout = make_busybox_layout(work.path());
    ASSERT_EQ(skopeo_copy("oci:" + layout + ":latest", "docker://" + registry.host() + "/app/bb:1")
                  .exit_code,
              0);
    // An upload in flight when the server dies: half a chunk on the wire.
    auto start = registry_call("POST", registry.url() + "/v2/app/bb/blobs/uploads/");
    const std::string location = start.header("location").value_or("");
    ASSERT_EQ(registry_call("PATCH", registry.url() + location, {}, std::string(5000, 'a')).status,
              202);
    RawConnection in_flight(registry.port());
    in_flight.send("PATCH " + location + " HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" +
                   std::string(1000, 'b'));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    registry.kill9();
    in_flight.close();
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // past the upload expiry
    registry.start();
    auto pulled =
        skopeo_copy("docker://" + registry.host() + "/app/bb:1", "oci:" + work.path() + "/out:1");
    EXPECT_EQ(pulled.exit_code, 0) << pulled.describe();
    // The stale session was cleaned up at start.
    EXPECT_EQ(upload_sessions(registry.root()), std::vector<std::string>{}) << registry.log();
    EXPECT_EQ(registry_call("GET", registry.url() + location).status, 404);
}

TEST(RegistryOperationsTest, SigtermLetsTheRequestInFlightFinish) {
    BerthRegistry registry({"--shutdown-grace", "10"});
    const std::string payload(300000, 'p');
    RawConnection idle(registry.port());  // an idle keep-alive connection must not hold shutdown up
    RawConnection uploading(registry.port());
    uploading.send("POST /v2/app/blobs/uploads/?digest=" + sha256_digest(payload) +
                   " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(payload.size()) +
                   "\r\n\r\n" + payload.substr(0, 1000));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the server is reading it
    ::kill(registry.pid(), SIGTERM);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    uploading.send(payload.substr(1000));
    const std::string response = uploading.receive_all(std::chrono::seconds(5));
    EXPECT_EQ(raw_status(response), 201) << response;
    EXPECT_TRUE(idle.closed_by_peer(std::chrono::seconds(5)));
    EXPECT_EQ(registry.stop(), 0);
    // The blob is whole on disk.
    const std::string stored =
        registry.root() + "/blobs/sha256/" + sha256_digest(payload).substr(7);
    EXPECT_EQ(fs::file_size(stored), payload.size());
}

// systemd's default for services: soft 1024, a high hard limit. The server raises its soft
// limit and serves everyone.
TEST(RegistryOperationsTest, RaisesItsFileLimitAndServesNewClientsBesideIdleOnes) {
    BerthRegistry registry({}, {}, {"prlimit", "--nofile=1024:16384", "--"});
    for (int status : new_clients_beside_idle_ones(registry))
        EXPECT_EQ(status, 200) << registry.log();
    EXPECT_EQ(count_of(registry.log(), "at most "), 0u) << registry.log();
}

// A hard limit of 1024: the connection cap goes below it (with room for the files each
// connection opens), those over the cap get 429 at once, and new clients are served again
// as soon as connections close.
TEST(RegistryOperationsTest, KeepsItsConnectionsBelowAFileLimitItCannotRaise) {
    BerthRegistry registry({}, {}, {"prlimit", "--nofile=1024:1024", "--"});
    {
        for (int status : new_clients_beside_idle_ones(registry))
            EXPECT_TRUE(status == 200 || status == 429) << status << "\n" << registry.log();
    }
    EXPECT_EQ(count_of(registry.log(), "at most 480 connections (not 4096)"), 1u) << registry.log();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the idle ones closed
    EXPECT_EQ(raw_status(raw_request(registry.port(),
                                     "GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")),
              200);
}

// The upload sessions of a server killed with -9 are garbage as soon as the next server
// starts, however recent (the expiry is a day); those of a server stopped gracefully are
// handed on, and the client may go on with them.
TEST(RegistryOperationsTest, UploadSessionsOfAKilledServerAreRemovedAtTheNextStart) {
    BerthRegistry registry;
    auto begin_upload = [&] {
        auto start = registry_call("POST", registry.url() + "/v2/app/blobs/uploads/");
        const std::string location = start.header("location").value_or("");
        EXPECT_EQ(
            registry_call("PATCH", registry.url() + location, {}, std::string(5000, 'a')).status,
            202);
        return location;
    };
    const std::string handed_on = begin_upload();
    EXPECT_EQ(registry.stop(), 0);
    registry.start();
    EXPECT_EQ(registry_call("GET", registry.url() + handed_on).status, 204) << registry.log();

    const std::string crashed = begin_upload();
    registry.kill9();
    registry.start();
    EXPECT_EQ(registry_call("GET", registry.url() + crashed).status, 404) << registry.log();
    // The session handed on is still there (it expires as usual), and it alone.
    EXPECT_EQ(registry_call("GET", registry.url() + handed_on).status, 204) << registry.log();
    EXPECT_EQ(upload_sessions(registry.root()).size(), 1u) << registry.log();
}
