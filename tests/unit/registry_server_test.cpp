// The registry server's pieces without a network: name grammar, route parsing, targets,
// pagination, error bodies, JWTs, htpasswd, access rules, the config file, storage and
// upload sessions on a temp dir.
#include <crypt.h>
#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/digest.hpp"
#include "distribution/server/access_policy.hpp"
#include "distribution/server/api_error.hpp"
#include "distribution/server/config.hpp"
#include "distribution/server/garbage_collector.hpp"
#include "distribution/server/htpasswd.hpp"
#include "distribution/server/jwt.hpp"
#include "distribution/server/names.hpp"
#include "distribution/server/router.hpp"
#include "distribution/server/storage.hpp"
#include "distribution/server/uploads.hpp"

namespace fs = std::filesystem;
using namespace berth;
using namespace berth::registry;

namespace {

class TempRoot {
  public:
    TempRoot() {
        char pattern[] = "/tmp/berth-regunit-XXXXXX";
        path_ = ::mkdtemp(pattern);
    }
    ~TempRoot() { fs::remove_all(path_); }
    [[nodiscard]] const std::string& path() const { return path_; }

  private:
    std::string path_;
};

}  // namespace

TEST(RegistryNames, RepositoryGrammar) {
    for (const char* good : {"a", "library/busybox", "a.b_c__d---e/f0", "x/y/z", "0"})
        EXPECT_TRUE(is_valid_repository_name(good)) << good;
    for (const char* bad : {"", "A", "a//b", "/a", "a/", "../a", "a/../b", "a/./b", "_a", "a/_b",
                            "a_", "a.", "a___b", "a b", "a/%2e", "a\\b"})
        EXPECT_FALSE(is_valid_repository_name(bad)) << bad;
    EXPECT_FALSE(is_valid_repository_name(std::string(256, 'a')));
}

TEST(RegistryNames, TagsAndUploadIds) {
    EXPECT_TRUE(is_valid_tag("latest"));
    EXPECT_TRUE(is_valid_tag("_v1.2-rc_3"));
    EXPECT_FALSE(is_valid_tag(".hidden"));
    EXPECT_FALSE(is_valid_tag("-x"));
    EXPECT_FALSE(is_valid_tag("a/b"));
    EXPECT_FALSE(is_valid_tag(std::string(129, 'a')));
    EXPECT_TRUE(is_valid_upload_id("0123456789abcdef0123456789abcdef"));
    EXPECT_FALSE(is_valid_upload_id("../../../../etc/passwd0123456789"));
}

TEST(RegistryRoutes, PathsMapToRoutes) {
    auto route = parse_route("/v2/a/b/manifests/latest");
    ASSERT_TRUE(route);
    EXPECT_EQ(route->kind, RouteKind::manifest);
    EXPECT_EQ(route->repository, "a/b");
    EXPECT_EQ(route->reference, "latest");
    EXPECT_EQ(parse_route("/v2/a/blobs/uploads/")->kind, RouteKind::upload_start);
    EXPECT_EQ(parse_route("/v2/a/blobs/uploads/abc")->reference, "abc");
    // A repository may itself be called "blobs" or "manifests".
    auto odd = parse_route("/v2/blobs/manifests/blobs/sha256:00");
    ASSERT_TRUE(odd);
    EXPECT_EQ(odd->kind, RouteKind::blob);
    EXPECT_EQ(odd->repository, "blobs/manifests");
    EXPECT_EQ(parse_route("/v2/x/tags/list")->kind, RouteKind::tags);
    EXPECT_EQ(parse_route("/v2/x/referrers/sha256:00")->kind, RouteKind::referrers);
    EXPECT_EQ(parse_route("/v2/_catalog")->kind, RouteKind::catalog);
    EXPECT_FALSE(parse_route("/v3/x/tags/list"));
    EXPECT_FALSE(parse_route("/v2/x"));
    try {
        parse_route("/v2/../etc/manifests/x");
        FAIL() << "traversal accepted";
    } catch (const ApiError& e) {
        EXPECT_EQ(e.code(), ErrorCode::name_invalid);
        EXPECT_EQ(e.status(), 400);
    }
}

TEST(RegistryRoutes, TargetsAreDecoded) {
    std::string path;
    std::multimap<std::string, std::string> query;
    ASSERT_TRUE(parse_target("/v2/a%2Fb/x?n=2&last=a%2Bb&scope=x&scope=y", path, query));
    EXPECT_EQ(path, "/v2/a%2Fb/x");  // an escaped slash stays in its component
    EXPECT_EQ(query.find("last")->second, "a+b");
    EXPECT_EQ(query.count("scope"), 2U);
    EXPECT_FALSE(parse_target("/v2/%zz", path, query));
    EXPECT_FALSE(parse_target("/v2/%00", path, query));
}

TEST(RegistryRoutes, Pagination) {
    RequestHead head;
    head.query = {{"n", "2"}, {"last", "b"}};
    std::string next;
    EXPECT_EQ(paginate({"a", "b", "c", "d", "e"}, head, next),
              (std::vector<std::string>{"c", "d"}));
    EXPECT_EQ(next, "d");
    head.query = {{"n", "5"}};
    EXPECT_EQ(paginate({"a", "b"}, head, next).size(), 2U);
    EXPECT_EQ(next, "");
}

TEST(RegistryErrors, BodiesAndStatuses) {
    auto body =
        nlohmann::json::parse(error_body(ErrorCode::manifest_blob_unknown, "missing", "sha256:00"));
    EXPECT_EQ(body["errors"][0]["code"], "MANIFEST_BLOB_UNKNOWN");
    EXPECT_EQ(body["errors"][0]["detail"], "sha256:00");
    EXPECT_EQ(default_status(ErrorCode::blob_unknown), 404);
    EXPECT_EQ(default_status(ErrorCode::unauthorized), 401);
    EXPECT_EQ(default_status(ErrorCode::denied), 403);
    EXPECT_EQ(default_status(ErrorCode::too_many_requests), 429);
    EXPECT_EQ(default_status(ErrorCode::range_invalid), 416);
    EXPECT_EQ(code_name(ErrorCode::too_many_requests), "TOOMANYREQUESTS");
}

TEST(RegistryTokens, SignVerifyAndRejectTampering) {
    TempRoot root;
    TokenSigner signer(root.path() + "/key.pem");
    EXPECT_EQ(fs::status(root.path() + "/key.pem").permissions() & fs::perms::group_all,
              fs::perms::none);
    TokenVerifier good;
    std::ofstream(root.path() + "/pub.pem") << signer.public_key_pem();
    good.add_key_file(root.path() + "/pub.pem");
    const std::string token = signer.sign({{"sub", "alice"}, {"exp", 4102444800}});
    EXPECT_EQ(good.verify(token)["sub"], "alice");
    std::string tampered = token;
    tampered[tampered.find('.') + 3] ^= 1;
    EXPECT_THROW(good.verify(tampered), InvalidToken);
    EXPECT_THROW(good.verify(signer.sign({{"exp", 1}})), InvalidToken);
    EXPECT_THROW(good.verify("not-a-token"), InvalidToken);
    // The same key file is reused, not replaced.
    TokenSigner again(root.path() + "/key.pem");
    EXPECT_EQ(again.public_key_pem(), signer.public_key_pem());
    EXPECT_EQ(base64url_decode(base64url_encode("any carnal pleas")), "any carnal pleas");
}

TEST(RegistryTokens, Es256TokensOfAnotherIssuer) {
    // An ES256 key as external issuers (e.g. docker's own token servers) use.
    EVP_PKEY* raw = nullptr;
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nullptr);
    ASSERT_GT(EVP_PKEY_keygen_init(ctx), 0);
    ASSERT_GT(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, NID_X9_62_prime256v1), 0);
    ASSERT_GT(EVP_PKEY_keygen(ctx, &raw), 0);
    EVP_PKEY_CTX_free(ctx);
    KeyPtr key(raw);
    const std::string input = base64url_encode(R"({"alg":"ES256","typ":"JWT"})") + "." +
                              base64url_encode(R"({"sub":"ci","exp":4102444800})");
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    size_t length = 0;
    ASSERT_GT(EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, key.get()), 0);
    ASSERT_GT(EVP_DigestSign(md, nullptr, &length,
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()),
              0);
    std::string der(length, '\0');
    ASSERT_GT(EVP_DigestSign(md, reinterpret_cast<unsigned char*>(der.data()), &length,
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()),
              0);
    EVP_MD_CTX_free(md);
    // JWS wants r||s, 32 bytes each.
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(length));
    ASSERT_NE(sig, nullptr);
    std::string raw_signature(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(raw_signature.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(raw_signature.data()) + 32,
                 32);
    ECDSA_SIG_free(sig);
    const std::string token = input + "." + base64url_encode(raw_signature);

    TokenVerifier verifier;
    EVP_PKEY_up_ref(key.get());
    verifier.add_key(KeyPtr(key.get()));
    EXPECT_EQ(verifier.verify(token)["sub"], "ci");
    std::string tampered = token;
    tampered[input.size() + 5] = tampered[input.size() + 5] == 'A' ? 'B' : 'A';
    EXPECT_THROW(verifier.verify(tampered), InvalidToken);
    // An RS256 key does not verify an ES256 token.
    TempRoot root;
    TokenSigner rsa(root.path() + "/rsa.pem");
    TokenVerifier other;
    EVP_PKEY_up_ref(rsa.key());
    other.add_key(KeyPtr(rsa.key()));
    EXPECT_THROW(other.verify(token), InvalidToken);
}

TEST(RegistryAuth, HtpasswdBcrypt) {
    TempRoot root;
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    ASSERT_NE(crypt_gensalt_rn("$2y$", 5, nullptr, 0, salt, sizeof salt), nullptr);
    crypt_data data{};
    const std::string hash = crypt_r("secret", salt, &data);
    std::ofstream(root.path() + "/htpasswd") << "# users\nalice:" << hash << "\n";
    Htpasswd htpasswd(root.path() + "/htpasswd");
    EXPECT_TRUE(htpasswd.verify("alice", "secret"));
    EXPECT_TRUE(htpasswd.verify("alice", "secret"));  // the remembered path
    EXPECT_FALSE(htpasswd.verify("alice", "Secret"));
    EXPECT_FALSE(htpasswd.verify("bob", "secret"));
    std::ofstream(root.path() + "/md5") << "carol:$apr1$abc$def\n";
    EXPECT_THROW(Htpasswd(root.path() + "/md5"), Error);
}

TEST(RegistryAuth, AccessRules) {
    AccessPolicy open({}, false);
    EXPECT_EQ(open.allowed("alice", "x").size(), 3U);
    EXPECT_TRUE(open.allowed("", "x").empty());
    AccessPolicy rules({{"bob", "team/*", {Action::pull}},
                        {"*", "public", {Action::pull, Action::push}},
                        {"anonymous", "public", {Action::pull}}},
                       false);
    EXPECT_EQ(rules.allowed("bob", "team/app"), std::set<Action>{Action::pull});
    EXPECT_TRUE(rules.allowed("bob", "teamx").empty());
    EXPECT_EQ(rules.allowed("carol", "public"), (std::set<Action>{Action::pull, Action::push}));
    EXPECT_EQ(rules.allowed("", "public"), std::set<Action>{Action::pull});
    EXPECT_TRUE(rules.allowed("", "team/app").empty());
}

TEST(RegistryConfig, TomlFileWithEverySection) {
    TempRoot root;
    const std::string path = root.path() + "/registry.toml";
    std::ofstream(path)
        << "addr = \"0.0.0.0:5001\"\nroot = \"/srv/registry\"\nplain-http = true\nread-timeout = "
           "5\n"
        << "[auth]\nhtpasswd = \"/etc/htpasswd\"\ntoken = \"builtin\"\nanonymous-read = true\n"
        << "[[auth.access]]\nuser = \"bob\"\nrepository = \"x/*\"\nactions = [\"pull\"]\n"
        << "[proxy]\nupstream = \"https://registry-1.docker.io\"\nttl = 60\n";
    RegistryConfig config;
    load_config_file(path, config);
    EXPECT_EQ(config.addr, "0.0.0.0:5001");
    EXPECT_EQ(config.root, "/srv/registry");
    EXPECT_TRUE(config.plain_http);
    EXPECT_EQ(config.read_timeout, std::chrono::seconds(5));
    EXPECT_EQ(config.auth.token, TokenMode::builtin);
    ASSERT_EQ(config.auth.access.size(), 1U);
    EXPECT_EQ(config.auth.access[0].actions, std::vector<Action>{Action::pull});
    EXPECT_EQ(config.proxy.ttl, std::chrono::seconds(60));
    std::ofstream(path) << "adr = \"x\"\n";
    try {
        load_config_file(path, config);
        FAIL() << "unknown key accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("adr: unknown key"), std::string::npos) << e.what();
    }
}

TEST(RegistryStorage, UploadsAppendUndoFinishAndExpire) {
    TempRoot root;
    Storage storage(root.path());
    Uploads uploads(storage, std::chrono::seconds(3600));
    const std::string id = uploads.start("app");
    {
        auto sink = uploads.append("app", id, "", std::nullopt);
        sink->write("hello ", 6);
        EXPECT_EQ(sink->commit(), 6);
    }
    {
        auto sink = uploads.append("app", id, "6-10", 5);
        sink->write("wor", 3);
        // dropped without commit: undone
    }
    EXPECT_EQ(uploads.size("app", id), 6);
    try {
        uploads.append("app", id, "7-9", 3);
        FAIL() << "out-of-order chunk accepted";
    } catch (const ApiError& e) {
        EXPECT_EQ(e.status(), 416);
    }
    EXPECT_THROW((void)uploads.size("other", id), ApiError);
    {
        auto sink = uploads.append("app", id, "6-10", 5);
        sink->write("world", 5);
        sink->commit();
    }
    EXPECT_THROW(uploads.finish("app", id, digest_of("wrong")), ApiError);
    EXPECT_THROW((void)uploads.size("app", id), ApiError);  // a failed finish ends the session

    const std::string second = uploads.start("app");
    uploads.append("app", second, "", std::nullopt)->write("x", 1);
    uploads.finish("app", second, digest_of(""));  // nothing was committed
    EXPECT_TRUE(storage.has_blob("app", digest_of("")));
    EXPECT_FALSE(storage.has_blob("other", digest_of("")));

    Uploads expiring(storage, std::chrono::seconds(0));
    expiring.start("app");
    EXPECT_EQ(expiring.remove_expired(), 1U);
    EXPECT_EQ(expiring.count(), 0U);
}

TEST(RegistryStorage, ManifestsTagsReferrersAndGc) {
    TempRoot root;
    Storage storage(root.path());
    const std::string config = "{}";
    const std::string layer = "layer";
    storage.blobs().put(config);
    storage.blobs().put(layer);
    storage.link_blob("app", digest_of(config));
    storage.link_blob("app", digest_of(layer));
    nlohmann::json manifest{{"schemaVersion", 2},
                            {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                            {"config",
                             {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                              {"digest", digest_of(config).str()},
                              {"size", 2}}},
                            {"layers",
                             {{{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
                               {"digest", digest_of(layer).str()},
                               {"size", 5}}}}};
    const std::string bytes = manifest.dump();
    const Digest digest = digest_of(bytes);
    storage.put_manifest("app", bytes, digest, "application/vnd.oci.image.manifest.v1+json", "v1",
                         std::nullopt, {});
    EXPECT_EQ(storage.resolve_tag("app", "v1"), digest);
    EXPECT_EQ(storage.read_manifest("app", digest)->bytes, bytes);
    EXPECT_EQ(storage.repositories(), std::vector<std::string>{"app"});
    const std::string orphan = "orphan";
    storage.blobs().put(orphan);

    GcOptions options;
    options.grace = std::chrono::seconds(0);
    options.dry_run = true;
    auto dry = collect_garbage(storage, options);
    EXPECT_EQ(dry.blobs_removed, std::vector<std::string>{digest_of(orphan).str()});
    EXPECT_TRUE(storage.blobs().has(digest_of(orphan)));
    options.dry_run = false;
    collect_garbage(storage, options);
    EXPECT_FALSE(storage.blobs().has(digest_of(orphan)));
    EXPECT_TRUE(storage.blobs().has(digest_of(layer)));
    EXPECT_TRUE(storage.blobs().has(digest));

    EXPECT_TRUE(storage.delete_tag("app", "v1"));
    options.delete_untagged = true;
    auto swept = collect_garbage(storage, options);
    EXPECT_EQ(swept.manifests_removed.size(), 1U);
    EXPECT_FALSE(storage.blobs().has(digest_of(layer)));
    EXPECT_FALSE(storage.read_manifest("app", digest));
}
