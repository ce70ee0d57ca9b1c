// berth registry serve over its HTTP API: uploads (monolithic, chunked, resumed, cancelled),
// blobs with ranges, manifests with negotiation and validation, tags, catalog, referrers,
// mounts, deletes - and the bad input the issue lists, each answered with the spec's status
// and code, with nothing partial stored.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "distribution/client/http.hpp"
#include "support/berth_registry.hpp"
#include "support/raw_http.hpp"
#include "support/registry.hpp"

namespace fs = std::filesystem;
using namespace berth::test;
using berth::distribution::HttpClient;
using berth::distribution::HttpRequest;
using berth::distribution::HttpResponse;

namespace {

constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";

class Api {
  public:
    explicit Api(std::string base) : base_(std::move(base)) {}
    HttpResponse operator()(const std::string& method, const std::string& path,
                            const std::string& body = {},
                            const std::vector<std::string>& headers = {}) {
        HttpRequest request;
        request.method = method;
        request.url = path.starts_with("http") ? path : base_ + path;
        request.body = body;
        request.headers = headers;
        request.verify_tls = false;
        return http_.perform(request);
    }

  private:
    std::string base_;
    HttpClient http_;
};

std::string error_code(const HttpResponse& response) {
    try {
        return nlohmann::json::parse(response.body)["errors"][0]["code"].get<std::string>();
    } catch (const std::exception&) {
        return "(no error body: " + response.body + ")";
    }
}

std::string header(const HttpResponse& response, const std::string& name) {
    return response.header(name).value_or("");
}

class RegistryApiTest : public ::testing::Test {
  protected:
    BerthRegistry registry{
        {"--read-timeout", "2", "--max-manifest-size", "65536", "--max-body-size", "1000000"}};
    Api api{registry.url()};

    // Monolithic upload; returns the digest.
    std::string put_blob(const std::string& repo, const std::string& bytes) {
        const std::string digest = sha256_digest(bytes);
        auto r = api("POST", "/v2/" + repo + "/blobs/uploads/?digest=" + digest, bytes,
                     {"Content-Type: application/octet-stream"});
        EXPECT_EQ(r.status, 201) << r.body;
        return digest;
    }

    // An OCI manifest of a config and one layer (both uploaded into repo).
    std::string make_manifest(const std::string& repo, const std::string& layer_bytes,
                              const std::string& subject = {},
                              const std::string& artifact_type = {}) {
        const std::string config =
            "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_"
            "ids\":[]}}";
        const std::string config_digest = put_blob(repo, config);
        const std::string layer_digest = put_blob(repo, layer_bytes);
        nlohmann::ordered_json m;
        m["schemaVersion"] = 2;
        m["mediaType"] = kOciManifest;
        if (!artifact_type.empty()) m["artifactType"] = artifact_type;
        m["config"] = {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                       {"digest", config_digest},
                       {"size", config.size()}};
        m["layers"] = nlohmann::ordered_json::array(
            {{{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
              {"digest", layer_digest},
              {"size", layer_bytes.size()}}});
        if (!subject.empty())
            m["subject"] = {{"mediaType", kOciManifest}, {"digest", subject}, {"size", 100}};
        return m.dump();
    }

    [[nodiscard]] size_t stored_blob_count() const {
        size_t n = 0;
        for (const auto& entry : fs::directory_iterator(registry.root() + "/blobs/sha256")) {
            (void)entry;
            ++n;
        }
        return n;
    }
};

}  // namespace

TEST_F(RegistryApiTest, BaseEndpointAnswersWithTheApiVersion) {
    auto r = api("GET", "/v2/");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(header(r, "docker-distribution-api-version"), "registry/2.0");
    EXPECT_EQ(api("GET", "/v2/nothing/here").status, 404);
}

TEST_F(RegistryApiTest, ChunkedUploadThenBlobGetHeadAndRanges) {
    const std::string data = "0123456789abcdefghijklmnopqrstuvwxyz";
    auto start = api("POST", "/v2/team/app/blobs/uploads/");
    ASSERT_EQ(start.status, 202) << start.body;
    const std::string location = header(start, "location");
    ASSERT_NE(location.find("/v2/team/app/blobs/uploads/"), std::string::npos);
    EXPECT_FALSE(header(start, "docker-upload-uuid").empty());

    auto first = api("PATCH", location, data.substr(0, 10),
                     {"Content-Range: 0-9", "Content-Type: application/octet-stream"});
    ASSERT_EQ(first.status, 202) << first.body;
    EXPECT_EQ(header(first, "range"), "0-9");
    auto status = api("GET", location);
    EXPECT_EQ(status.status, 204);
    EXPECT_EQ(header(status, "range"), "0-9");
    auto second = api("PATCH", location, data.substr(10),
                      {"Content-Range: 10-35", "Content-Type: application/octet-stream"});
    ASSERT_EQ(second.status, 202) << second.body;
    EXPECT_EQ(header(second, "range"), "0-35");
    const std::string digest = sha256_digest(data);
    auto done =
        api("PUT", location + "?digest=" + digest, "", {"Content-Type: application/octet-stream"});
    ASSERT_EQ(done.status, 201) << done.body;
    EXPECT_EQ(header(done, "docker-content-digest"), digest);
    EXPECT_EQ(header(done, "location"), "/v2/team/app/blobs/" + digest);

    auto get = api("GET", "/v2/team/app/blobs/" + digest);
    EXPECT_EQ(get.status, 200);
    EXPECT_EQ(get.body, data);
    EXPECT_EQ(header(get, "docker-content-digest"), digest);
    auto head = api("HEAD", "/v2/team/app/blobs/" + digest);
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(header(head, "content-length"), std::to_string(data.size()));
    auto range = api("GET", "/v2/team/app/blobs/" + digest, "", {"Range: bytes=10-19"});
    EXPECT_EQ(range.status, 206);
    EXPECT_EQ(range.body, data.substr(10, 10));
    EXPECT_EQ(header(range, "content-range"), "bytes 10-19/36");
    auto tail = api("GET", "/v2/team/app/blobs/" + digest, "", {"Range: bytes=-6"});
    EXPECT_EQ(tail.body, data.substr(30));
    auto unsatisfiable = api("GET", "/v2/team/app/blobs/" + digest, "", {"Range: bytes=100-200"});
    EXPECT_EQ(unsatisfiable.status, 416);
    // Another repository has not got it (no link), though the store has.
    auto elsewhere = api("GET", "/v2/other/blobs/" + digest);
    EXPECT_EQ(elsewhere.status, 404);
    EXPECT_EQ(error_code(elsewhere), "BLOB_UNKNOWN");
}

TEST_F(RegistryApiTest, ChunkOutOfOrderIs416AndTheSessionKeepsItsBytes) {
    auto start = api("POST", "/v2/app/blobs/uploads/");
    const std::string location = header(start, "location");
    ASSERT_EQ(api("PATCH", location, "abcde", {"Content-Range: 0-4"}).status, 202);
    auto gap = api("PATCH", location, "xyz", {"Content-Range: 7-9"});
    EXPECT_EQ(gap.status, 416);
    EXPECT_EQ(error_code(gap), "BLOB_UPLOAD_INVALID");
    EXPECT_EQ(header(gap, "range"), "0-4");
    auto overlap = api("PATCH", location, "xyz", {"Content-Range: 2-4"});
    EXPECT_EQ(overlap.status, 416);
    EXPECT_EQ(header(api("GET", location), "range"), "0-4");
    auto done = api("PUT", location + "?digest=" + sha256_digest("abcde"));
    EXPECT_EQ(done.status, 201) << done.body;
}

TEST_F(RegistryApiTest, WrongDigestIsDigestInvalidAndNothingIsStored) {
    const size_t before = stored_blob_count();
    auto mono = api("POST", "/v2/app/blobs/uploads/?digest=" + sha256_digest("other"), "payload");
    EXPECT_EQ(mono.status, 400);
    EXPECT_EQ(error_code(mono), "DIGEST_INVALID");
    auto bad_syntax = api("POST", "/v2/app/blobs/uploads/?digest=sha256:xyz", "payload");
    EXPECT_EQ(bad_syntax.status, 400);
    EXPECT_EQ(error_code(bad_syntax), "DIGEST_INVALID");
    auto start = api("POST", "/v2/app/blobs/uploads/");
    auto chunked =
        api("PUT", header(start, "location") + "?digest=" + sha256_digest("nope"), "payload");
    EXPECT_EQ(chunked.status, 400);
    EXPECT_EQ(error_code(chunked), "DIGEST_INVALID");
    EXPECT_EQ(stored_blob_count(), before);
    EXPECT_EQ(api("HEAD", "/v2/app/blobs/" + sha256_digest("payload")).status, 404);
    for (const auto& entry : fs::directory_iterator(registry.root() + "/uploads"))  // no session
        EXPECT_TRUE(entry.path().filename().string().starts_with(".owner-")) << entry.path();
}

TEST_F(RegistryApiTest, UploadToACancelledSessionIsUnknown) {
    auto start = api("POST", "/v2/app/blobs/uploads/");
    const std::string location = header(start, "location");
    ASSERT_EQ(api("PATCH", location, "abc").status, 202);
    EXPECT_EQ(api("DELETE", location).status, 204);
    auto late = api("PATCH", location, "def");
    EXPECT_EQ(late.status, 404);
    EXPECT_EQ(error_code(late), "BLOB_UPLOAD_UNKNOWN");
    EXPECT_EQ(api("PUT", location + "?digest=" + sha256_digest("abc")).status, 404);
    // A session id from another repository, and one that is not an id at all.
    auto other = api("POST", "/v2/one/blobs/uploads/");
    const std::string id = header(other, "docker-upload-uuid");
    EXPECT_EQ(api("GET", "/v2/two/blobs/uploads/" + id).status, 404);
    EXPECT_EQ(error_code(api("GET", "/v2/two/blobs/uploads/..%2f..%2fetc")), "BLOB_UPLOAD_UNKNOWN");
}

TEST_F(RegistryApiTest, ManifestsByTagAndDigestWithNegotiationTagsAndCatalog) {
    const std::string manifest = make_manifest("lib/app", "layer-bytes");
    const std::string digest = sha256_digest(manifest);
    auto put = api("PUT", "/v2/lib/app/manifests/v1", manifest,
                   {std::string("Content-Type: ") + kOciManifest});
    ASSERT_EQ(put.status, 201) << put.body;
    EXPECT_EQ(header(put, "docker-content-digest"), digest);
    for (const std::string tag : {"v2", "v3", "latest"})
        ASSERT_EQ(api("PUT", "/v2/lib/app/manifests/" + tag, manifest,
                      {std::string("Content-Type: ") + kOciManifest})
                      .status,
                  201);

    for (const std::string& ref : std::vector<std::string>{"v1", digest}) {
        auto get = api("GET", "/v2/lib/app/manifests/" + ref, "",
                       {std::string("Accept: ") + kOciManifest + ", " + kOciIndex});
        EXPECT_EQ(get.status, 200);
        EXPECT_EQ(get.body, manifest);
        EXPECT_EQ(header(get, "content-type"), kOciManifest);
        EXPECT_EQ(header(get, "docker-content-digest"), digest);
    }
    auto head = api("HEAD", "/v2/lib/app/manifests/v1");
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(header(head, "content-length"), std::to_string(manifest.size()));
    auto docker_only = api("GET", "/v2/lib/app/manifests/v1", "",
                           {"Accept: application/vnd.docker.distribution.manifest.v2+json"});
    EXPECT_EQ(docker_only.status, 404);
    EXPECT_EQ(error_code(docker_only), "MANIFEST_UNKNOWN");

    auto page1 = api("GET", "/v2/lib/app/tags/list?n=2");
    EXPECT_EQ(nlohmann::json::parse(page1.body)["tags"], nlohmann::json({"latest", "v1"}));
    EXPECT_EQ(header(page1, "link"), "</v2/lib/app/tags/list?n=2&last=v1>; rel=\"next\"");
    auto page2 = api("GET", "/v2/lib/app/tags/list?n=2&last=v1");
    EXPECT_EQ(nlohmann::json::parse(page2.body)["tags"], nlohmann::json({"v2", "v3"}));
    EXPECT_EQ(header(page2, "link"), "");
    EXPECT_EQ(error_code(api("GET", "/v2/no/such/tags/list")), "NAME_UNKNOWN");

    ASSERT_EQ(api("PUT", "/v2/zz/manifests/x", make_manifest("zz", "z"),
                  {std::string("Content-Type: ") + kOciManifest})
                  .status,
              201);
    auto catalog = api("GET", "/v2/_catalog");
    EXPECT_EQ(nlohmann::json::parse(catalog.body)["repositories"],
              nlohmann::json({"lib/app", "zz"}));
    auto catalog_page = api("GET", "/v2/_catalog?n=1");
    EXPECT_EQ(nlohmann::json::parse(catalog_page.body)["repositories"],
              nlohmann::json({"lib/app"}));
    EXPECT_NE(header(catalog_page, "link").find("last=lib/app"), std::string::npos);

    // Deleting a tag leaves the manifest; deleting the digest removes every tag.
    EXPECT_EQ(api("DELETE", "/v2/lib/app/manifests/v3").status, 202);
    EXPECT_EQ(api("GET", "/v2/lib/app/manifests/v3").status, 404);
    EXPECT_EQ(api("GET", "/v2/lib/app/manifests/" + digest).status, 200);
    EXPECT_EQ(api("DELETE", "/v2/lib/app/manifests/" + digest).status, 202);
    EXPECT_EQ(error_code(api("GET", "/v2/lib/app/manifests/v1")), "MANIFEST_UNKNOWN");
    EXPECT_EQ(error_code(api("DELETE", "/v2/lib/app/manifests/" + digest)), "MANIFEST_UNKNOWN");
    const std::string layer = sha256_digest("layer-bytes");
    EXPECT_EQ(api("DELETE", "/v2/lib/app/blobs/" + layer).status, 202);
    EXPECT_EQ(error_code(api("GET", "/v2/lib/app/blobs/" + layer)), "BLOB_UNKNOWN");
}

TEST_F(RegistryApiTest, BadManifestsAreRefusedAndNotStored) {
    auto bad_json = api("PUT", "/v2/app/manifests/v1", "{not json",
                        {std::string("Content-Type: ") + kOciManifest});
    EXPECT_EQ(bad_json.status, 400);
    EXPECT_EQ(error_code(bad_json), "MANIFEST_INVALID");
    auto no_config = api("PUT", "/v2/app/manifests/v1", "{\"schemaVersion\":2,\"layers\":[]}",
                         {std::string("Content-Type: ") + kOciManifest});
    EXPECT_EQ(error_code(no_config), "MANIFEST_INVALID");

    // A manifest whose layer was never uploaded.
    std::string manifest = make_manifest("app", "present");
    const std::string missing = sha256_digest("never uploaded");
    auto doc = nlohmann::json::parse(manifest);
    doc["layers"][0]["digest"] = missing;
    auto unknown_blob = api("PUT", "/v2/app/manifests/v1", doc.dump(),
                            {std::string("Content-Type: ") + kOciManifest});
    EXPECT_EQ(unknown_blob.status, 400);
    EXPECT_EQ(error_code(unknown_blob), "MANIFEST_BLOB_UNKNOWN");
    // An index naming a manifest the repository does not have.
    nlohmann::json index{
        {"schemaVersion", 2},
        {"mediaType", kOciIndex},
        {"manifests", {{{"mediaType", kOciManifest}, {"digest", missing}, {"size", 10}}}}};
    EXPECT_EQ(error_code(api("PUT", "/v2/app/manifests/idx", index.dump(),
                             {std::string("Content-Type: ") + kOciIndex})),
              "MANIFEST_BLOB_UNKNOWN");
    // Pushed by a digest it does not have.
    auto wrong_digest = api("PUT", "/v2/app/manifests/" + sha256_digest("x"), manifest,
                            {std::string("Content-Type: ") + kOciManifest});
    EXPECT_EQ(wrong_digest.status, 400);
    EXPECT_EQ(error_code(wrong_digest), "DIGEST_INVALID");
    // Schema 1 is not supported.
    auto schema1 = api("PUT", "/v2/app/manifests/old",
                       "{\"schemaVersion\":1,\"name\":\"app\",\"tag\":\"old\",\"fsLayers\":[]}",
                       {"Content-Type: application/vnd.docker.distribution.manifest.v1+prettyjws"});
    EXPECT_EQ(error_code(schema1), "MANIFEST_INVALID");
    // Too big (the test server allows 64 KiB).
    auto huge = api("PUT", "/v2/app/manifests/big", std::string(100000, ' ') + manifest,
                    {std::string("Content-Type: ") + kOciManifest});
    EXPECT_EQ(huge.status, 413);
    EXPECT_EQ(error_code(huge), "SIZE_INVALID");
    // An invalid tag.
    EXPECT_EQ(api("PUT", "/v2/app/manifests/-bad", manifest,
                  {std::string("Content-Type: ") + kOciManifest})
                  .status,
              400);

    EXPECT_FALSE(fs::exists(registry.root() + "/repositories/app/_tags"));
    EXPECT_FALSE(fs::exists(registry.root() + "/repositories/app/_manifests"));
}

TEST_F(RegistryApiTest, InvalidNamesAndTraversalAreNameInvalid) {
    for (const std::string& path : std::vector<std::string>{
             "/v2/UPPER/manifests/latest", "/v2/a//b/manifests/latest", "/v2/_hidden/tags/list",
             "/v2/a/../../etc/manifests/latest", "/v2/a/%2e%2e/b/manifests/latest",
             "/v2/a%2f..%2f..%2fx/blobs/uploads/", "/v2/-a/tags/list"}) {
        auto response = raw_request(
            registry.port(),
            "POST " + path +
                " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        EXPECT_EQ(raw_status(response), 400) << path << "\n" << response;
        EXPECT_NE(response.find("NAME_INVALID"), std::string::npos) << path;
    }
    EXPECT_FALSE(fs::exists(fs::path(registry.root()).parent_path() / "etc"));
    EXPECT_FALSE(fs::exists(fs::path(registry.root()) / "x"));
    EXPECT_TRUE(fs::is_empty(registry.root() + "/repositories"));
    // Invalid references.
    EXPECT_EQ(api("GET", "/v2/app/manifests/sha256:1234").status, 400);
    EXPECT_EQ(error_code(api("GET", "/v2/app/blobs/notadigest")), "DIGEST_INVALID");
}

// Bytes that are not UTF-8 in any part of a request: each one is answered with the spec's
// error body (valid JSON, the bytes escaped as \xHH), logged and counted - never a connection
// closed without an answer.
TEST_F(RegistryApiTest, RequestsWithBytesThatAreNotUtf8AreAnswered) {
    auto untyped = nlohmann::json::parse(make_manifest("app", "utf8"));
    untyped.erase("mediaType");
    const std::string untyped_manifest = untyped.dump();
    struct Case {
        std::string method, target, body, content_type;
        int status;
        std::string code;
        bool quoted;  // the message shows the bytes
    };
    const std::string ff = "\xff";
    const std::vector<Case> cases = {
        {"GET", "/v2/a/b/manifests/%ff", "", "", 400, "TAG_INVALID", true},
        {"GET", "/v2/a/b/manifests/" + ff, "", "", 400, "TAG_INVALID", true},
        {"HEAD", "/v2/a/b/manifests/v%c3%28", "", "", 400, "", false},
        {"GET", "/v2/a%ff/b/manifests/latest", "", "", 400, "NAME_INVALID", true},
        {"GET", "/v2/a" + ff + "/b/tags/list", "", "", 400, "NAME_INVALID", true},
        {"GET", "/v2/a/b/manifests/sha256:%ff", "", "", 400, "DIGEST_INVALID", true},
        {"GET", "/v2/a/b/blobs/sha256:" + ff, "", "", 400, "DIGEST_INVALID", true},
        {"GET", "/v2/a/b/blobs/uploads/%ff%fe", "", "", 404, "BLOB_UPLOAD_UNKNOWN", true},
        {"POST", "/v2/a/b/blobs/uploads/?digest=sha256:%ff", "x", "application/octet-stream", 400,
         "DIGEST_INVALID", true},
        {"GET", "/v2/app/tags/list?n=%ff", "", "", 400, "UNSUPPORTED", true},
        {"GET", "/v2/_catalog?n=1%ff", "", "", 400, "UNSUPPORTED", true},
        {"GET", "/%ff%fe", "", "", 404, "NAME_UNKNOWN", true},
        {"PUT", "/v2/app/manifests/v1", R"({"schemaVersion":2,"x":")" + ff + "\"}", kOciManifest,
         400, "MANIFEST_INVALID", false},
        // No mediaType in the body: the Content-Type names it, and is quoted as unsupported.
        {"PUT", "/v2/app/manifests/v1", untyped_manifest, std::string(kOciManifest) + ff, 415,
         "MANIFEST_INVALID", true},
    };
    for (const auto& c : cases) {
        std::string request = c.method + " " + c.target + " HTTP/1.1\r\nHost: x\r\n";
        if (!c.content_type.empty()) request += "Content-Type: " + c.content_type + "\r\n";
        request += "User-Agent: agent" + ff +
                   "\r\nContent-Length: " + std::to_string(c.body.size()) +
                   "\r\nConnection: close\r\n\r\n" + c.body;
        const std::string response = raw_request(registry.port(), request);
        const std::string what = c.method + " " + c.target;
        const int status = raw_status(response);
        EXPECT_GE(status, 400) << what << "\n" << response;
        EXPECT_LT(status, 500) << what << "\n" << response;
        if (c.status) {
            EXPECT_EQ(status, c.status) << what << "\n" << response;
        }
        if (c.method == "HEAD") continue;
        const size_t body_at = response.find("\r\n\r\n");
        ASSERT_NE(body_at, std::string::npos) << what;
        auto body = nlohmann::json::parse(response.substr(body_at + 4), nullptr, false);
        ASSERT_TRUE(body.is_object()) << what << ": not JSON: " << response;
        if (!c.code.empty()) {
            EXPECT_EQ(body["errors"][0]["code"], c.code) << what;
        }
        if (c.quoted) {
            EXPECT_NE(body["errors"][0]["message"].get<std::string>().find("\\xf"),
                      std::string::npos)
                << what << ": " << body.dump();
        }
    }
    // Every one is in the access log (one JSON line each) and in /metrics.
    const std::string log = registry.log();
    size_t logged = 0;
    for (size_t at = log.find("agent\\\\xff"); at != std::string::npos;
         at = log.find("agent\\\\xff", at + 1))
        ++logged;
    EXPECT_EQ(logged, cases.size()) << log;
    // The server still serves.
    EXPECT_EQ(api("GET", "/v2/").status, 200);
}

TEST_F(RegistryApiTest, ReferrersWithSubjectAndArtifactTypeFilter) {
    const std::string subject_manifest = make_manifest("app", "base");
    const std::string subject = sha256_digest(subject_manifest);
    ASSERT_EQ(api("PUT", "/v2/app/manifests/v1", subject_manifest,
                  {std::string("Content-Type: ") + kOciManifest})
                  .status,
              201);
    const std::string sbom = make_manifest("app", "sbom", subject, "application/spdx+json");
    auto put = api("PUT", "/v2/app/manifests/" + sha256_digest(sbom), sbom,
                   {std::string("Content-Type: ") + kOciManifest});
    ASSERT_EQ(put.status, 201) << put.body;
    EXPECT_EQ(header(put, "oci-subject"), subject);
    const std::string sig = make_manifest("app", "sig", subject, "application/vnd.example.sig");
    ASSERT_EQ(api("PUT", "/v2/app/manifests/" + sha256_digest(sig), sig,
                  {std::string("Content-Type: ") + kOciManifest})
                  .status,
              201);

    auto all = api("GET", "/v2/app/referrers/" + subject);
    EXPECT_EQ(all.status, 200);
    EXPECT_EQ(header(all, "content-type"), kOciIndex);
    auto index = nlohmann::json::parse(all.body);
    ASSERT_EQ(index["manifests"].size(), 2U);
    auto filtered =
        api("GET", "/v2/app/referrers/" + subject + "?artifactType=application/spdx%2Bjson");
    auto only = nlohmann::json::parse(filtered.body);
    ASSERT_EQ(only["manifests"].size(), 1U);
    EXPECT_EQ(only["manifests"][0]["digest"], sha256_digest(sbom));
    EXPECT_EQ(only["manifests"][0]["artifactType"], "application/spdx+json");
    EXPECT_EQ(header(filtered, "oci-filters-applied"), "artifactType");
    auto none = api("GET", "/v2/app/referrers/" + sha256_digest("nothing"));
    EXPECT_EQ(none.status, 200);
    EXPECT_TRUE(nlohmann::json::parse(none.body)["manifests"].empty());
    // Deleting a referrer drops it from the list.
    ASSERT_EQ(api("DELETE", "/v2/app/manifests/" + sha256_digest(sig)).status, 202);
    EXPECT_EQ(
        nlohmann::json::parse(api("GET", "/v2/app/referrers/" + subject).body)["manifests"].size(),
        1U);
}

TEST_F(RegistryApiTest, IndexesAndManifestListsOfPushedManifests) {
    const std::string manifest = make_manifest("multi", "amd64 layer");
    const std::string digest = sha256_digest(manifest);
    ASSERT_EQ(api("PUT", "/v2/multi/manifests/" + digest, manifest,
                  {std::string("Content-Type: ") + kOciManifest})
                  .status,
              201);
    for (const std::string type :
         {kOciIndex, "application/vnd.docker.distribution.manifest.list.v2+json"}) {
        nlohmann::json index{{"schemaVersion", 2},
                             {"mediaType", type},
                             {"manifests",
                              {{{"mediaType", kOciManifest},
                                {"digest", digest},
                                {"size", manifest.size()},
                                {"platform", {{"architecture", "amd64"}, {"os", "linux"}}}}}}};
        auto put =
            api("PUT", "/v2/multi/manifests/latest", index.dump(), {"Content-Type: " + type});
        ASSERT_EQ(put.status, 201) << put.body;
        auto get = api("GET", "/v2/multi/manifests/latest", "", {"Accept: " + type});
        EXPECT_EQ(get.status, 200);
        EXPECT_EQ(header(get, "content-type"), type);
        EXPECT_EQ(get.body, index.dump());
    }
}

TEST_F(RegistryApiTest, AnUploadBodyOverTheLimitIsRefused) {
    auto start = api("POST", "/v2/app/blobs/uploads/");
    const std::string location = header(start, "location");
    auto big = api("PATCH", location, std::string(1500000, 'x'));
    EXPECT_EQ(big.status, 413);
    EXPECT_EQ(error_code(big), "SIZE_INVALID");
    EXPECT_EQ(header(api("GET", location), "range"), "0-0");
    EXPECT_EQ(api("PATCH", location, "fits").status, 202);
}

TEST_F(RegistryApiTest, CrossRepositoryMountAndItsFallback) {
    const std::string digest = put_blob("source", "shared layer");
    auto mounted = api("POST", "/v2/target/blobs/uploads/?mount=" + digest + "&from=source");
    EXPECT_EQ(mounted.status, 201);
    EXPECT_EQ(header(mounted, "docker-content-digest"), digest);
    EXPECT_EQ(api("GET", "/v2/target/blobs/" + digest).body, "shared layer");
    // Not in the source repository: a normal upload session starts instead.
    auto fallback =
        api("POST", "/v2/target/blobs/uploads/?mount=" + sha256_digest("absent") + "&from=source");
    EXPECT_EQ(fallback.status, 202);
    EXPECT_NE(header(fallback, "location").find("/blobs/uploads/"), std::string::npos);
    auto bad_source = api("POST", "/v2/target/blobs/uploads/?mount=" + digest + "&from=../etc");
    EXPECT_EQ(bad_source.status, 202);
}

TEST_F(RegistryApiTest, HalfABodyThenGoneStoresNothing) {
    const size_t before = stored_blob_count();
    const std::string payload(1000, 'x');
    {
        RawConnection connection(registry.port());
        connection.send("POST /v2/app/blobs/uploads/?digest=" + sha256_digest(payload) +
                        " HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" +
                        payload.substr(0, 400));
    }
    auto start = api("POST", "/v2/app/blobs/uploads/");
    const std::string location = header(start, "location");
    ASSERT_EQ(api("PATCH", location, "abc", {"Content-Range: 0-2"}).status, 202);
    {
        RawConnection connection(registry.port());
        connection.send(
            "PATCH " + location +
            " HTTP/1.1\r\nHost: x\r\nContent-Range: 3-1002\r\nContent-Length: 1000\r\n\r\n" +
            payload.substr(0, 300));
    }
    // The server notices the closed connection and undoes the partial chunk.
    EXPECT_TRUE(eventually([&] { return header(api("GET", location), "range") == "0-2"; }));
    EXPECT_EQ(api("HEAD", "/v2/app/blobs/" + sha256_digest(payload)).status, 404);
    EXPECT_EQ(stored_blob_count(), before);
    // Once the server has dropped the broken request, the session takes the rest.
    EXPECT_TRUE(eventually([&] {
        return api("PUT", location + "?digest=" + sha256_digest("abcdef"), "def").status == 201;
    }));
    EXPECT_EQ(api("GET", "/v2/app/blobs/" + sha256_digest("abcdef")).body, "abcdef");
}

TEST_F(RegistryApiTest, AStalledClientIsDisconnected) {
    RawConnection stalled(registry.port());
    stalled.send("GET /v2/ HTTP/1.1\r\nHost: x\r\n");  // and never the blank line
    const auto started = std::chrono::steady_clock::now();
    EXPECT_TRUE(stalled.closed_by_peer(std::chrono::seconds(6)));
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
    // Meanwhile others are served.
    EXPECT_EQ(api("GET", "/v2/").status, 200);
}

TEST_F(RegistryApiTest, MetricsCountRequestsByRouteAndStatus) {
    put_blob("app", "counted");
    api("GET", "/v2/app/blobs/" + sha256_digest("counted"));
    api("GET", "/v2/app/manifests/missing");
    auto metrics = api("GET", "/metrics");
    EXPECT_EQ(metrics.status, 200);
    EXPECT_NE(metrics.body.find(
                  "berth_registry_requests_total{route=\"blob\",method=\"GET\",status=\"200\"} 1"),
              std::string::npos)
        << metrics.body;
    EXPECT_NE(metrics.body.find("route=\"manifest\",method=\"GET\",status=\"404\"} 1"),
              std::string::npos);
    EXPECT_NE(metrics.body.find("berth_registry_uploads_completed_total 1"), std::string::npos);
    const size_t sent = metrics.body.find("\nberth_registry_sent_bytes_total ");
    ASSERT_NE(sent, std::string::npos);
    EXPECT_GE(std::stoull(metrics.body.substr(sent + 33)), 7U);  // at least the blob
    // And the access log has a JSON line for the blob GET.
    EXPECT_NE(registry.log().find("\"route\":\"blob\""), std::string::npos);
}

TEST(RegistryLimitsTest, ConnectionsBeyondTheLimitGetTooManyRequests) {
    BerthRegistry registry({"--max-connections", "1"});
    // The start-up probe's connection must be gone before ours count.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    RawConnection first(registry.port());
    first.send("GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");  // kept alive
    ASSERT_EQ(raw_status(first.receive_all(std::chrono::milliseconds(500))), 200);
    RawConnection second(registry.port());
    second.send("GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string refused = second.receive_all(std::chrono::seconds(5));
    EXPECT_EQ(raw_status(refused), 429) << refused;
    EXPECT_NE(refused.find("TOOMANYREQUESTS"), std::string::npos);
    first.close();
    EXPECT_TRUE(eventually([&] {
        return raw_status(raw_request(
                   registry.port(), "GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")) ==
               200;
    }));
}
