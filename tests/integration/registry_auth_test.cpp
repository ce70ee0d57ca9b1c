// Access to berth registry serve: htpasswd basic auth (with and without anonymous reads),
// the built-in token issuer with per-repository scopes and access rules, tokens of an
// external issuer verified by its public key, and TLS.
#include <gtest/gtest.h>

#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>

#include "distribution/client/http.hpp"
#include "distribution/server/jwt.hpp"
#include "support/berth_registry.hpp"
#include "support/images.hpp"
#include "support/registry_http.hpp"

using namespace berth::test;
using berth::distribution::HttpResponse;

namespace {

std::string basic(const std::string& user, const std::string& password) {
    return "Authorization: Basic " + berth::distribution::base64_encode(user + ":" + password);
}

std::string write_htpasswd(const TempDir& dir) {
    const std::string path = dir.path() + "/htpasswd";
    for (const auto& [user, password] :
         {std::pair{"alice", "wonderland"}, std::pair{"bob", "builder"}}) {
        auto r = run_command({"htpasswd", "-Bbn", user, password});
        if (r.exit_code != 0) throw std::runtime_error(r.describe());
        std::ofstream(path, std::ios::app) << r.out;
    }
    return path;
}

}  // namespace

TEST(RegistryAuthTest, HtpasswdBasicAuthForSkopeoAndRawRequests) {
    TempDir work("berth-rega");
    BerthRegistry registry({"--htpasswd", write_htpasswd(work)});
    const std::string base = registry.url();
    auto anonymous = registry_call("GET", base + "/v2/");
    EXPECT_EQ(anonymous.status, 401);
    EXPECT_EQ(anonymous.header("www-authenticate").value_or(""), "Basic realm=\"berth-registry\"");
    EXPECT_NE(anonymous.body.find("UNAUTHORIZED"), std::string::npos);
    EXPECT_EQ(registry_call("GET", base + "/v2/", {basic("alice", "wrong")}).status, 401);
    EXPECT_EQ(registry_call("GET", base + "/v2/", {basic("nobody", "wonderland")}).status, 401);
    EXPECT_EQ(registry_call("GET", base + "/v2/", {basic("alice", "wonderland")}).status, 200);

    const std::string layout = make_busybox_layout(work.path());
    const std::string dest = "docker://" + registry.host() + "/private/bb:1";
    EXPECT_NE(skopeo_copy("oci:" + layout + ":latest", dest).exit_code, 0);
    auto pushed =
        skopeo_copy("oci:" + layout + ":latest", dest, {"--dest-creds", "alice:wonderland"});
    ASSERT_EQ(pushed.exit_code, 0) << pushed.describe();
    auto pulled =
        skopeo_copy(dest, "oci:" + work.path() + "/out:1", {"--src-creds", "bob:builder"});
    EXPECT_EQ(pulled.exit_code, 0) << pulled.describe();
    EXPECT_EQ(registry_call("GET", base + "/v2/private/bb/tags/list").status, 401);
}

TEST(RegistryAuthTest, AnonymousReadsButAuthenticatedWrites) {
    TempDir work("berth-rega");
    BerthRegistry registry({"--htpasswd", write_htpasswd(work), "--anonymous-read"});
    const std::string layout = make_busybox_layout(work.path());
    const std::string dest = "docker://" + registry.host() + "/pub/bb:1";
    ASSERT_EQ(skopeo_copy("oci:" + layout + ":latest", dest, {"--dest-creds", "alice:wonderland"})
                  .exit_code,
              0);
    auto pulled = skopeo_copy(dest, "oci:" + work.path() + "/out:1");
    EXPECT_EQ(pulled.exit_code, 0) << pulled.describe();
    EXPECT_EQ(registry_call("GET", registry.url() + "/v2/pub/bb/tags/list").status, 200);
    EXPECT_EQ(registry_call("GET", registry.url() + "/v2/pub/bb/tags/list", {basic("", "")}).status,
              200);
    EXPECT_EQ(registry_call("GET", registry.url() + "/v2/").status,
              401);  // the challenge clients learn from
    auto push = registry_call("POST", registry.url() + "/v2/pub/bb/blobs/uploads/");
    EXPECT_EQ(push.status, 401);
    EXPECT_NE(push.body.find("UNAUTHORIZED"), std::string::npos);
}

TEST(RegistryAuthTest, BasicAuthWithAccessRulesDeniesWhatARuleDoesNotGrant) {
    TempDir work("berth-rega");
    const std::string config = work.path() + "/registry.toml";
    std::ofstream(config) << "[auth]\nhtpasswd = \"" << write_htpasswd(work) << "\"\n"
                          << "[[auth.access]]\nuser = \"*\"\nrepository = \"shared/*\"\n"
                          << "actions = [\"pull\"]\n"
                          << "[[auth.access]]\nuser = \"alice\"\nrepository = \"shared/*\"\n"
                          << "actions = [\"push\", \"delete\"]\n";
    BerthRegistry registry({"--config", config});
    const std::string url = registry.url() + "/v2/shared/app/blobs/uploads/";
    EXPECT_EQ(registry_call("POST", url, {basic("alice", "wonderland")}).status, 202);
    auto denied = registry_call("POST", url, {basic("bob", "builder")});
    EXPECT_EQ(denied.status, 403);
    EXPECT_NE(denied.body.find("DENIED"), std::string::npos);
    EXPECT_EQ(registry_call("GET", registry.url() + "/v2/private/tags/list",
                            {basic("alice", "wonderland")})
                  .status,
              403);
}

TEST(RegistryAuthTest, BuiltinTokenIssuerWithScopesAndAccessRules) {
    TempDir work("berth-rega");
    const std::string config = work.path() + "/registry.toml";
    std::ofstream(config)
        << "[auth]\nhtpasswd = \"" << write_htpasswd(work) << "\"\ntoken = \"builtin\"\n"
        << "[[auth.access]]\nuser = \"alice\"\nrepository = \"*\"\nactions = [\"pull\", \"push\", "
           "\"delete\"]\n"
        << "[[auth.access]]\nuser = \"bob\"\nrepository = \"shared/*\"\nactions = [\"pull\"]\n";
    BerthRegistry registry({"--config", config});
    const std::string base = registry.url();
    auto challenge = registry_call("GET", base + "/v2/shared/bb/tags/list");
    EXPECT_EQ(challenge.status, 401);
    EXPECT_EQ(challenge.header("www-authenticate").value_or(""),
              "Bearer realm=\"" + base +
                  "/token\",service=\"berth-registry\",scope=\"repository:shared/bb:pull\"");

    auto token_for = [&](const std::string& user, const std::string& password,
                         const std::string& scope) {
        auto r = registry_call("GET", base + "/token?service=berth-registry&scope=" + scope,
                               {basic(user, password)});
        EXPECT_EQ(r.status, 200) << r.body;
        return r.status == 200 ? nlohmann::json::parse(r.body)["token"].get<std::string>()
                               : std::string();
    };
    EXPECT_EQ(registry_call("GET", base + "/token?scope=repository:shared/bb:pull",
                            {basic("bob", "wrong")})
                  .status,
              401);
    // bob asks for push as well and gets only pull.
    const std::string bob = token_for("bob", "builder", "repository:shared/bb:pull,push");
    const auto claims = nlohmann::json::parse(berth::registry::base64url_decode(
        bob.substr(bob.find('.') + 1, bob.rfind('.') - bob.find('.') - 1)));
    EXPECT_EQ(claims["access"][0]["actions"], nlohmann::json({"pull"}));
    EXPECT_EQ(claims["sub"], "bob");
    EXPECT_EQ(
        registry_call("GET", base + "/v2/shared/bb/tags/list", {"Authorization: Bearer " + bob})
            .status,
        404);  // allowed; no such repo yet
    auto denied = registry_call("POST", base + "/v2/shared/bb/blobs/uploads/",
                                {"Authorization: Bearer " + bob});
    EXPECT_EQ(denied.status, 401);
    EXPECT_NE(denied.header("www-authenticate").value_or("").find("insufficient_scope"),
              std::string::npos);
    EXPECT_EQ(
        registry_call("GET", base + "/v2/other/tags/list", {"Authorization: Bearer " + bob}).status,
        401);
    // A token whose signature was tampered with.
    std::string forged = bob;
    forged[forged.size() - 5] = forged[forged.size() - 5] == 'A' ? 'B' : 'A';
    EXPECT_EQ(registry_call("GET", base + "/v2/", {"Authorization: Bearer " + forged}).status, 401);

    // Clients follow the challenge themselves.
    const std::string layout = make_busybox_layout(work.path());
    const std::string dest = "docker://" + registry.host() + "/shared/bb:1";
    auto pushed =
        skopeo_copy("oci:" + layout + ":latest", dest, {"--dest-creds", "alice:wonderland"});
    ASSERT_EQ(pushed.exit_code, 0) << pushed.describe() << registry.log();
    EXPECT_NE(
        skopeo_copy("oci:" + layout + ":latest", dest, {"--dest-creds", "bob:builder"}).exit_code,
        0);
    auto pulled =
        skopeo_copy(dest, "oci:" + work.path() + "/out:1", {"--src-creds", "bob:builder"});
    EXPECT_EQ(pulled.exit_code, 0) << pulled.describe();
    Berth berth;
    CommandOptions password;
    password.input = "builder\n";
    auto login = berth({"login", "-u", "bob", "--password-stdin", registry.host()}, password);
    ASSERT_EQ(login.exit_code, 0) << login.describe();
    auto berth_pull = berth({"pull", "-q", registry.host() + "/shared/bb:1"});
    EXPECT_EQ(berth_pull.exit_code, 0) << berth_pull.describe();
}

TEST(RegistryAuthTest, TokensOfAnExternalIssuerAreVerifiedByItsKey) {
    TempDir work("berth-rega");
    berth::registry::TokenSigner issuer(work.path() + "/issuer.pem");
    berth::registry::TokenSigner stranger(work.path() + "/stranger.pem");
    std::ofstream(work.path() + "/issuer.pub") << issuer.public_key_pem();
    BerthRegistry registry({"--token", "external", "--token-public-key",
                            work.path() + "/issuer.pub", "--token-realm",
                            "https://auth.example/token", "--token-issuer", "auth.example",
                            "--token-service", "registry.example"});
    const auto now = static_cast<int64_t>(std::time(nullptr));
    auto claims = [&](const std::string& iss, int64_t exp) {
        return nlohmann::json{
            {"iss", iss},
            {"sub", "ci"},
            {"aud", "registry.example"},
            {"exp", exp},
            {"nbf", now - 5},
            {"iat", now},
            {"access",
             {{{"type", "repository"}, {"name", "ci/app"}, {"actions", {"pull", "push"}}}}}};
    };
    const std::string url = registry.url() + "/v2/ci/app/blobs/uploads/";
    auto challenge = registry_call("POST", url);
    EXPECT_EQ(challenge.status, 401);
    EXPECT_NE(challenge.header("www-authenticate")
                  .value_or("")
                  .find("realm=\"https://auth.example/token\""),
              std::string::npos);
    EXPECT_EQ(
        registry_call("POST", url,
                      {"Authorization: Bearer " + issuer.sign(claims("auth.example", now + 300))})
            .status,
        202);
    EXPECT_EQ(
        registry_call("POST", url,
                      {"Authorization: Bearer " + stranger.sign(claims("auth.example", now + 300))})
            .status,
        401);
    EXPECT_EQ(
        registry_call("POST", url,
                      {"Authorization: Bearer " + issuer.sign(claims("auth.example", now - 10))})
            .status,
        401);
    EXPECT_EQ(
        registry_call("POST", url,
                      {"Authorization: Bearer " + issuer.sign(claims("someone.else", now + 300))})
            .status,
        401);
    EXPECT_EQ(
        registry_call("POST", registry.url() + "/v2/ci/other/blobs/uploads/",
                      {"Authorization: Bearer " + issuer.sign(claims("auth.example", now + 300))})
            .status,
        401);
}

TEST(RegistryAuthTest, TlsWithACertificateAndPlainHttpOnlyWhenAskedFor) {
    TempDir work("berth-rega");
    const std::string cert = work.path() + "/cert.pem", key = work.path() + "/key.pem";
    auto made = run_command({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                             "1", "-subj", "/CN=127.0.0.1", "-addext",
                             "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert});
    ASSERT_EQ(made.exit_code, 0) << made.describe();
    BerthRegistry registry({"--tls-cert", cert, "--tls-key", key});
    auto curl = run_command({"curl", "-sS", "--cacert", cert,
                             "https://127.0.0.1:" + std::to_string(registry.port()) + "/v2/"});
    EXPECT_EQ(curl.exit_code, 0) << curl.describe();
    EXPECT_EQ(curl.out, "{}");
    EXPECT_NE(
        run_command({"curl", "-sS", "http://127.0.0.1:" + std::to_string(registry.port()) + "/v2/"})
            .out,
        "{}");
    const std::string layout = make_busybox_layout(work.path());
    auto pushed = run_command({"skopeo", "copy", "--dest-cert-dir", work.path() + "/none",
                               "--dest-tls-verify=false", "oci:" + layout + ":latest",
                               "docker://" + registry.host() + "/tls/bb:1"});
    ASSERT_EQ(pushed.exit_code, 0) << pushed.describe();
    auto blob =
        run_command({"skopeo", "copy", "--src-tls-verify=false",
                     "docker://" + registry.host() + "/tls/bb:1", "oci:" + work.path() + "/out:1"});
    EXPECT_EQ(blob.exit_code, 0) << blob.describe();

    // Plain HTTP on a non-loopback address is refused unless asked for.
    auto refused = run_command({berth_binary(), "registry", "serve", "--addr", "0.0.0.0:0",
                                "--root", work.path() + "/r2"});
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_NE(refused.err.find("--plain-http"), std::string::npos) << refused.describe();
}
