// containers-policy.json: parsing (strict, one-line errors naming the file), scope
// precedence, signedIdentity rules, registries.d, and the verification of stored signatures
// (wrong key, altered payload, another image, another repository).
#include <gtest/gtest.h>

#include "distribution/client/http.hpp"
#include "trust/policy.hpp"
#include "trust/policy_check.hpp"
#include "trust/registries_d.hpp"
#include "trust/sigstore_verify.hpp"

using namespace berth;
using namespace berth::trust;

namespace {

std::string policy_error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

image::Reference policy_ref(const std::string& text) {
    return image::parse_reference(text).reference;
}

const char* kPolicy = R"({
  "default": [{"type": "reject"}],
  "transports": {
    "docker": {
      "": [{"type": "insecureAcceptAnything"}],
      "reg.example:5000": [{"type": "reject"}],
      "reg.example:5000/team": [{"type": "insecureAcceptAnything"}],
      "reg.example:5000/team/app:1": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k.gpg"}],
      "*.corp.example": [{"type": "reject"}]
    },
    "docker-daemon": {"": [{"type": "insecureAcceptAnything"}]}
  }
})";

}  // namespace

TEST(TrustPolicy, MostSpecificScopeWins) {
    Policy p = Policy::parse(kPolicy, "/etc/containers/policy.json");
    EXPECT_EQ(p.scope_for(policy_ref("reg.example:5000/team/app:1")).scope,
              "docker \"reg.example:5000/team/app:1\"");
    EXPECT_EQ(p.scope_for(policy_ref("reg.example:5000/team/app:2")).scope,
              "docker \"reg.example:5000/team\"");
    EXPECT_EQ(p.scope_for(policy_ref("reg.example:5000/other/app:1")).scope,
              "docker \"reg.example:5000\"");
    EXPECT_EQ(p.scope_for(policy_ref("a.b.corp.example/x:1")).scope, "docker \"*.corp.example\"");
    EXPECT_EQ(p.scope_for(policy_ref("quay.io/x/y:1")).scope, "docker \"\"");
    Policy no_docker = Policy::parse(R"({"default":[{"type":"reject"}]})", "p.json");
    EXPECT_EQ(no_docker.scope_for(policy_ref("quay.io/x/y:1")).scope, "default");
}

TEST(TrustPolicy, BadFilesAreOneLineErrorsNamingTheFile) {
    EXPECT_EQ(
        policy_error_of([] { Policy::parse(R"({"default":[{"type":"trustMe"}]})", "/p.json"); }),
        "/p.json: default[0].type: unknown requirement type \"trustMe\"");
    EXPECT_EQ(
        policy_error_of([] {
            Policy::parse(
                R"({"default":[{"type":"reject"}],"transports":{"docker":{"Bad Scope!":[{"type":"reject"}]}}})",
                "/p.json");
        }),
        "/p.json: transports.docker: bad scope \"Bad Scope!\": not a registry host[:port], "
        "repository or reference");
    EXPECT_NE(
        policy_error_of([] {
            Policy::parse(
                R"({"default":[{"type":"reject"}],"transports":{"docker":{"busybox/x":[{"type":"reject"}]}}})",
                "/p.json");
        }).find("bad scope \"busybox/x\": a scope must name its registry"),
        std::string::npos);
    EXPECT_NE(policy_error_of([] { Policy::parse("{", "/p.json"); }).find("/p.json"),
              std::string::npos);
    EXPECT_EQ(policy_error_of([] { Policy::parse(R"({"transports":{}})", "/p.json"); }),
              "/p.json: default: required field is missing");
    EXPECT_NE(policy_error_of([] {
                  Policy::parse(R"({"default":[{"type":"sigstoreSigned"}]})", "/p.json");
              }).find("sigstoreSigned needs keyPath, keyData or fulcio"),
              std::string::npos);
    EXPECT_NE(policy_error_of([] {
                  Policy::parse(R"({"default":[{"type":"reject","extra":1}]})", "/p.json");
              }).find("default[0].extra: unknown field"),
              std::string::npos);
    EXPECT_NE(policy_error_of([] {
                  Policy::parse(R"({"default":[{"type":"reject"}],"transports":{"ftp":{}}})",
                                "/p.json");
              }).find("unknown transport \"ftp\""),
              std::string::npos);
    EXPECT_NE(
        policy_error_of([] {
            Policy::parse(
                R"({"default":[{"type":"sigstoreSigned","keyPath":"/k","signedIdentity":{"type":"matchSomething"}}]})",
                "/p.json");
        }).find("unknown signedIdentity type \"matchSomething\""),
        std::string::npos);
}

TEST(TrustPolicy, RelativeKeyPathIsBesideThePolicy) {
    Policy p = Policy::parse(R"({"default":[{"type":"sigstoreSigned","keyPath":"keys/a.pub"}]})",
                             "/etc/berth/policy.json");
    EXPECT_EQ((*p.scope_for(policy_ref("x.io/a:1")).requirements)[0].key_paths,
              std::vector<std::string>{"/etc/berth/keys/a.pub"});
}

TEST(TrustPolicy, RejectAndSignedByRefuseBeforeAnyLookup) {
    distribution::HttpClient http;
    distribution::Registry registry(http, "reg.example:5000", std::nullopt, {});
    PolicyEnforcer enforcer(Policy::parse(kPolicy, "/etc/containers/policy.json"), RegistriesD{});
    Digest d = digest_of("m");
    EXPECT_EQ(policy_error_of([&] {
                  enforcer.check(registry, policy_ref("reg.example:5000/other/app:1"), d,
                                 std::nullopt);
              }),
              "reg.example:5000/other/app:1: rejected by the signature policy "
              "/etc/containers/policy.json (scope docker \"reg.example:5000\"): the policy rejects "
              "every image here (transports.docker.reg.example:5000[0])");
    EXPECT_NE(policy_error_of([&] {
                  enforcer.check(registry, policy_ref("reg.example:5000/team/app:1"), d,
                                 std::nullopt);
              }).find("GPG signatures are not supported"),
              std::string::npos);
    EXPECT_TRUE(enforcer.accepts_anything(policy_ref("reg.example:5000/team/app:2")));
    EXPECT_FALSE(enforcer.accepts_anything(policy_ref("reg.example:5000/team/app:1")));
    EXPECT_NO_THROW(enforcer.check(registry, policy_ref("quay.io/x/y:1"), d, std::nullopt));
}

TEST(TrustPolicy, SignedIdentityRules) {
    auto id = [](const std::string& text) {
        nlohmann::json doc = nlohmann::json::parse(text);
        return parse_signed_identity(JsonReader(doc, "signedIdentity"));
    };
    image::Reference by_tag = policy_ref("reg.io/team/app:1");
    image::Reference by_digest = policy_ref("reg.io/team/app@" + digest_of("x").str());
    SignedIdentity def = id(R"({"type":"matchRepoDigestOrExact"})");
    EXPECT_TRUE(def.matches(by_tag, policy_ref("reg.io/team/app:1")));
    EXPECT_FALSE(def.matches(by_tag, policy_ref("reg.io/team/app:2")));
    EXPECT_FALSE(def.matches(by_tag, policy_ref("reg.io/team/app")));
    EXPECT_TRUE(def.matches(by_digest, policy_ref("reg.io/team/app:anything")));
    EXPECT_FALSE(def.matches(by_digest, policy_ref("reg.io/team/other:1")));
    SignedIdentity repo = id(R"({"type":"matchRepository"})");
    EXPECT_TRUE(repo.matches(by_tag, policy_ref("reg.io/team/app")));
    EXPECT_FALSE(repo.matches(by_tag, policy_ref("reg.io/team/other")));
    SignedIdentity exact = id(R"({"type":"exactReference","dockerReference":"reg.io/base/app:7"})");
    EXPECT_TRUE(exact.matches(by_tag, policy_ref("reg.io/base/app:7")));
    EXPECT_FALSE(exact.matches(by_tag, policy_ref("reg.io/team/app:1")));
    SignedIdentity remap =
        id(R"({"type":"remapIdentity","prefix":"mirror.local/team","signedPrefix":"reg.io/team"})");
    EXPECT_TRUE(
        remap.matches(policy_ref("mirror.local/team/app:1"), policy_ref("reg.io/team/app:1")));
    EXPECT_FALSE(remap.matches(policy_ref("mirror.local/team/app:1"),
                               policy_ref("mirror.local/team/app:2")));
    EXPECT_FALSE(
        remap.matches(policy_ref("mirror.local/teamx/app:1"), policy_ref("reg.io/teamx/app:1")));
    EXPECT_NE(policy_error_of([&] {
                  id(R"({"type":"exactReference","dockerReference":"busybox"})");
              }).find("must name its registry"),
              std::string::npos);
}

TEST(TrustRegistriesD, MostSpecificScopeAndDefaults) {
    RegistriesD config;
    config.add(R"(# registries.d
default-docker:
  use-sigstore-attachments: false
docker:
  reg.io/team:
    use-sigstore-attachments: true   # this team signs
  "reg.io/team/legacy":
    lookaside: https://sigs.example/
    use-sigstore-attachments: false
)",
               "/etc/containers/registries.d/default.yaml");
    EXPECT_TRUE(config.use_sigstore_attachments(policy_ref("reg.io/team/app:1")));
    EXPECT_FALSE(config.use_sigstore_attachments(policy_ref("reg.io/team/legacy:1")));
    EXPECT_FALSE(config.use_sigstore_attachments(policy_ref("reg.io/other:1")));
    EXPECT_TRUE(RegistriesD{}.use_sigstore_attachments(policy_ref("reg.io/other:1")));
    EXPECT_EQ(
        policy_error_of([] {
            RegistriesD c;
            c.add("docker:\n  reg.io:\n    use-sigstore-attachments: maybe\n", "r.yaml");
        }),
        "r.yaml: docker.reg.io.use-sigstore-attachments: expected true or false, got \"maybe\"");
    EXPECT_EQ(policy_error_of([] { parse_simple_yaml("docker: [a, b]\n", "r.yaml"); }),
              "r.yaml:1: flow collections, anchors and block scalars are not supported");
}

TEST(TrustVerify, EachWayASignatureFails) {
    PrivateKey key = PrivateKey::generate();
    PrivateKey other = PrivateKey::generate();
    Digest manifest = digest_of("manifest");
    image::Reference image = policy_ref("reg.io/team/app:1");
    auto stored = [&](const std::string& identity, const Digest& d, const PrivateKey& k) {
        SimpleSigningPayload p{identity, d, nlohmann::json::object()};
        std::string payload = make_payload(p);
        return StoredSignature{payload, distribution::base64_encode(k.sign(payload)), "sig"};
    };
    SignedIdentity def;
    PublicKey pub = key.public_key();
    auto good = verify_signatures({stored("reg.io/team/app:1", manifest, key)}, pub, image,
                                  {manifest}, def);
    ASSERT_EQ(good.accepted.size(), 1U);
    EXPECT_EQ(good.accepted[0].payload.docker_reference, "reg.io/team/app:1");

    auto wrong_key = verify_signatures({stored("reg.io/team/app:1", manifest, other)}, pub, image,
                                       {manifest}, def);
    EXPECT_TRUE(wrong_key.accepted.empty());
    EXPECT_NE(wrong_key.why_rejected().find("does not verify with the key"), std::string::npos);

    StoredSignature altered = stored("reg.io/team/app:1", manifest, key);
    altered.payload.replace(altered.payload.find("app:1"), 5, "app:2");
    EXPECT_NE(verify_signatures({altered}, pub, image, {manifest}, def)
                  .why_rejected()
                  .find("does not verify"),
              std::string::npos);

    auto other_image = verify_signatures({stored("reg.io/team/app:1", digest_of("other"), key)},
                                         pub, image, {manifest}, def);
    EXPECT_NE(other_image.why_rejected().find("signs manifest " + digest_of("other").str()),
              std::string::npos);

    auto other_repo = verify_signatures({stored("reg.io/evil/app:1", manifest, key)}, pub, image,
                                        {manifest}, def);
    EXPECT_NE(other_repo.why_rejected().find("identity mismatch: signed for reg.io/evil/app:1"),
              std::string::npos);
    EXPECT_EQ(verify_signatures({}, pub, image, {manifest}, def).why_rejected(), "no signature");
}

TEST(TrustPolicy, ConfigKeyNamesThePolicyAndKeyPathsAreAllAccepted) {
    image::Settings settings = image::parse_settings(
        "[trust]\nsignature-policy = \"/nonexistent/policy.json\"\nregistries-d = "
        "\"/nonexistent/d\"\n",
        "berth.toml");
    EXPECT_EQ(settings.signature_policy, "/nonexistent/policy.json");
    EXPECT_EQ(settings.registries_d, "/nonexistent/d");
    EXPECT_NE(policy_error_of([&] {
                  PolicyEnforcer::load(settings);
              }).find("/nonexistent/policy.json: No such file or directory"),
              std::string::npos);
    EXPECT_NE(policy_error_of([] {
                  image::parse_settings("[trust]\npolicy = \"x\"\n", "berth.toml");
              }).find("trust.policy"),
              std::string::npos);
    Policy p = Policy::parse(
        R"({"default":[{"type":"sigstoreSigned","keyPaths":["/a.pub","b.pub"]}]})", "/etc/p.json");
    EXPECT_EQ((*p.scope_for(policy_ref("x.io/a:1")).requirements)[0].key_paths,
              (std::vector<std::string>{"/a.pub", "/etc/b.pub"}));
}
