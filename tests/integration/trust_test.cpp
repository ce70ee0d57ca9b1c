// Supply chain against the real peers: keys from `berth key generate` used by skopeo and
// podman (--sign-by-sigstore-private-key), signatures made by berth verified by podman under a
// sigstoreSigned policy and the other way round, the policy enforced by berth pull and run
// (nothing stored for a rejected image), tampered manifests, swapped signature layers and
// signatures of another repository refused by both, policy.json verdicts and refusals side by
// side with skopeo and podman, cosign's key file against an implementation apart from berth's,
// the bad-input cases, SBOMs of the Debian test image checked against dpkg-query and the
// published schemas, and build provenance (DSSE) checked against sigstore's JavaScript.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/file.hpp"
#include "distribution/client/credentials.hpp"
#include "distribution/client/http.hpp"
#include "distribution/client/registry.hpp"
#include "image/settings.hpp"
#include "support/berth_registry.hpp"
#include "support/fixture.hpp"
#include "support/images.hpp"
#include "support/registry.hpp"
#include "trust/encrypted_key.hpp"
#include "trust/intoto/statement.hpp"
#include "trust/provenance.hpp"
#include "trust/referrers.hpp"

namespace fs = std::filesystem;
using namespace berth::test;

namespace {

const char* kPassword = "correct horse";

class TrustTest : public ::testing::Test {
  protected:
    TempDir work{"berth-trust"};
    BerthRegistry registry;
    Berth berth;

    std::string ref(const std::string& name) const { return registry.host() + "/" + name; }
    std::string path(const std::string& name) const { return work.path() + "/" + name; }

    // berth key generate: PREFIX.key and PREFIX.pub in the work dir.
    void keygen(const std::string& prefix) {
        CommandOptions o;
        o.env.push_back(std::string("BERTH_PASSWORD=") + kPassword);
        auto r = berth({"key", "generate", "--output-key-prefix", path(prefix)}, o);
        ASSERT_EQ(r.exit_code, 0) << r.describe();
        write_text(path("passphrase"), kPassword);
    }
    CommandResult with_password(const std::vector<std::string>& args) {
        CommandOptions o;
        o.env.push_back(std::string("BERTH_PASSWORD=") + kPassword);
        return berth(args, o);
    }
    static void write_text(const std::string& file, const std::string& text) {
        std::ofstream(file) << text;
    }
    // The busybox image at repo:tag in the registry; returns its manifest digest.
    std::string push_busybox(const std::string& name) {
        if (layout_.empty()) layout_ = make_busybox_layout(work.path());
        auto r =
            skopeo_copy("oci:" + layout_ + ":latest", "docker://" + ref(name), {"--format", "oci"});
        EXPECT_EQ(r.exit_code, 0) << r.describe();
        return digest_of(name);
    }
    std::string digest_of(const std::string& name) {
        auto r = run_command({"skopeo", "inspect", "--tls-verify=false", "--format", "{{.Digest}}",
                              "docker://" + ref(name)});
        EXPECT_EQ(r.exit_code, 0) << r.describe();
        return trimmed(r.out);
    }
    // The busybox image at repo:tag with an annotation in its manifest: another digest.
    std::string push_variant(const std::string& repo, const std::string& tag,
                             const std::string& variant) {
        push_busybox(repo + ":" + tag);
        auto manifest = raw_manifest(repo + ":" + tag);
        manifest["annotations"] = {{"variant", variant}};
        auto put = put_manifest(repo, tag, manifest.dump(), manifest["mediaType"]);
        EXPECT_EQ(put.exit_code, 0) << put.describe() << registry.log();
        return digest_of(repo + ":" + tag);
    }
    nlohmann::json raw_manifest(const std::string& name) {
        auto r = run_command(
            {"skopeo", "inspect", "--raw", "--tls-verify=false", "docker://" + ref(name)});
        return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
    }
    static std::string sig_tag(const std::string& digest) {
        return "sha256-" + digest.substr(7) + ".sig";
    }
    // PUT a manifest with curl.
    CommandResult put_manifest(const std::string& repo, const std::string& reference,
                               const std::string& body, const std::string& type) {
        write_text(path("manifest.json"), body);
        return run_command({"curl", "-sf", "-X", "PUT", "-H", "Content-Type: " + type,
                            "--data-binary", "@" + path("manifest.json"),
                            registry.url() + "/v2/" + repo + "/manifests/" + reference});
    }
    // A policy that wants berth.pub's signatures for this registry, nothing elsewhere.
    std::string sigstore_policy(const std::string& key, const std::string& identity) {
        nlohmann::json p = {{"default", {{{"type", "reject"}}}},
                            {"transports",
                             {{"docker",
                               {{registry.host(),
                                 {{{"type", "sigstoreSigned"},
                                   {"keyPath", key},
                                   {"signedIdentity", {{"type", identity}}}}}}}},
                              {"oci", {{"", {{{"type", "insecureAcceptAnything"}}}}}},
                              {"docker-archive", {{"", {{{"type", "insecureAcceptAnything"}}}}}}}}};
        std::string file = path("policy-" + identity + ".json");
        write_text(file, p.dump(2));
        return file;
    }
    // containers/image reads sigstore attachments only where registries.d turns them on:
    // a HOME whose ~/.config/containers/registries.d says so, for podman and skopeo.
    std::string containers_home() {
        std::string home = path("home");
        fs::create_directories(home + "/.config/containers/registries.d");
        write_text(home + "/.config/containers/registries.d/berth-test.yaml",
                   "docker:\n  " + registry.host() + ":\n    use-sigstore-attachments: true\n");
        return home;
    }
    std::vector<std::string> podman(const std::vector<std::string>& args) const {
        std::vector<std::string> argv{"podman",
                                      "--root",
                                      work.path() + "/podman/root",
                                      "--runroot",
                                      work.path() + "/podman/run",
                                      "--storage-driver",
                                      "vfs"};
        argv.insert(argv.end(), args.begin(), args.end());
        return argv;
    }
    CommandResult run_podman(const std::vector<std::string>& args) {
        CommandOptions o;
        o.timeout = std::chrono::minutes(2);
        o.env.push_back("HOME=" + containers_home());
        return run_command(podman(args), o);
    }
    void TearDown() override {
        if (fs::exists(work.path() + "/podman")) {
            CommandOptions o;
            o.env.push_back("HOME=" + containers_home());
            run_command(podman({"system", "reset", "--force"}), o);
        }
    }
    // Whether this machine's skopeo and podman (containers/image) handle sigstore
    // signatures: Debian 12's are built with it disabled ("Debian-local change: sigstore
    // disabled"), and then the interop checks cannot run here; they run where the peers can.
    std::string peers_without_sigstore() {
        if (layout_.empty()) layout_ = make_busybox_layout(work.path());
        auto r = run_command({"skopeo", "--registries.d",
                              containers_home() + "/.config/containers/registries.d", "copy",
                              "--dest-tls-verify=false", "--sign-by-sigstore-private-key",
                              path("berth.key"), "--sign-passphrase-file", path("passphrase"),
                              "oci:" + layout_ + ":latest", "docker://" + ref("probe/sigstore:1")});
        if (r.err.find("sigstore disabled") != std::string::npos) return trimmed(r.err);
        return {};
    }
    // Nothing of a refused pull is stored.
    void expect_nothing_stored() {
        EXPECT_TRUE(berth.stored_blobs().empty()) << berth.stored_blobs().size() << " blobs";
        EXPECT_TRUE(berth.snapshots().empty());
        EXPECT_TRUE(berth.leftovers().empty());
        EXPECT_EQ(trimmed(berth({"images", "-q"}).out), "");
    }

    std::string layout_;
};

}  // namespace

TEST_F(TrustTest, BerthSignsVerifiesAndAppends) {
    keygen("one");
    keygen("two");
    std::string digest = push_busybox("team/app:1");
    auto signed1 =
        with_password({"sign", "--key", path("one.key"), "-a", "build=42", ref("team/app:1")});
    ASSERT_EQ(signed1.exit_code, 0) << signed1.describe() << registry.log();
    // cosign's layout: an OCI image at sha256-<hex>.sig, one simple-signing layer per signature.
    auto sig = raw_manifest("team/app:" + sig_tag(digest));
    ASSERT_EQ(sig["layers"].size(), 1U) << sig.dump();
    EXPECT_EQ(sig["mediaType"], "application/vnd.oci.image.manifest.v1+json");
    EXPECT_EQ(sig["layers"][0]["mediaType"], "application/vnd.dev.cosign.simplesigning.v1+json");
    EXPECT_TRUE(sig["layers"][0]["annotations"].contains("dev.cosignproject.cosign/signature"));
    // A second key's signature is appended.
    ASSERT_EQ(with_password({"sign", "--key", path("two.key"), ref("team/app:1")}).exit_code, 0);
    EXPECT_EQ(raw_manifest("team/app:" + sig_tag(digest))["layers"].size(), 2U);

    auto verified = berth({"verify", "--key", path("one.pub"), ref("team/app:1")});
    ASSERT_EQ(verified.exit_code, 0) << verified.describe();
    auto payloads = nlohmann::json::parse(verified.out);
    ASSERT_EQ(payloads.size(), 1U);
    EXPECT_EQ(payloads[0]["critical"]["image"]["docker-manifest-digest"], digest);
    EXPECT_EQ(payloads[0]["critical"]["identity"]["docker-reference"], ref("team/app:1"));
    EXPECT_EQ(payloads[0]["optional"]["build"], "42");
    EXPECT_EQ(berth({"verify", "--key", path("two.pub"), ref("team/app:1")}).exit_code, 0);
    EXPECT_EQ(berth({"verify", "--key", path("one.pub"), "--identity", ref("team/app:1"),
                     ref("team/app@" + digest)})
                  .exit_code,
              0);
    auto wrong_identity = berth(
        {"verify", "--key", path("one.pub"), "--identity", ref("team/app:2"), ref("team/app:1")});
    EXPECT_EQ(wrong_identity.exit_code, 1);
    EXPECT_NE(wrong_identity.err.find("identity mismatch"), std::string::npos)
        << wrong_identity.err;

    keygen("three");
    auto wrong_key = berth({"verify", "--key", path("three.pub"), ref("team/app:1")});
    EXPECT_EQ(wrong_key.exit_code, 1);
    EXPECT_NE(wrong_key.err.find("does not verify with the key"), std::string::npos)
        << wrong_key.err;
    EXPECT_EQ(std::count(wrong_key.err.begin(), wrong_key.err.end(), '\n'), 1) << wrong_key.err;

    // As an OCI 1.1 referrer instead.
    std::string other = push_busybox("team/ref:1");
    ASSERT_EQ(with_password(
                  {"sign", "--key", path("three.key"), "--attach", "referrers", ref("team/ref:1")})
                  .exit_code,
              0);
    auto referrers =
        run_command({"curl", "-sf", registry.url() + "/v2/team/ref/referrers/" + other});
    ASSERT_EQ(referrers.exit_code, 0);
    auto index = nlohmann::json::parse(referrers.out);
    ASSERT_EQ(index["manifests"].size(), 1U) << index.dump();
    EXPECT_EQ(index["manifests"][0]["artifactType"],
              "application/vnd.dev.cosign.artifact.sig.v1+json");
    EXPECT_EQ(berth({"verify", "--key", path("three.pub"), ref("team/ref:1")}).exit_code, 0);
    EXPECT_TRUE(raw_manifest("team/ref:" + sig_tag(other)).is_null());
}

TEST_F(TrustTest, SkopeoAndPodmanSignWithBerthKeysAndBerthVerifies) {
    keygen("berth");
    if (auto why = peers_without_sigstore(); !why.empty())
        GTEST_SKIP() << "skopeo/podman here cannot sign with sigstore keys: " << why;
    if (layout_.empty()) layout_ = make_busybox_layout(work.path());
    CommandOptions o;
    o.env.push_back("HOME=" + containers_home());
    auto copied = run_command(
        {"skopeo", "--registries.d", containers_home() + "/.config/containers/registries.d", "copy",
         "--dest-tls-verify=false", "--format", "oci", "--sign-by-sigstore-private-key",
         path("berth.key"), "--sign-passphrase-file", path("passphrase"),
         "oci:" + layout_ + ":latest", "docker://" + ref("skopeo/app:1")},
        o);
    ASSERT_EQ(copied.exit_code, 0) << copied.describe();
    auto verified = berth({"verify", "--key", path("berth.pub"), ref("skopeo/app:1")});
    ASSERT_EQ(verified.exit_code, 0) << verified.describe();
    EXPECT_EQ(nlohmann::json::parse(verified.out)[0]["critical"]["identity"]["docker-reference"],
              ref("skopeo/app:1"));

    ASSERT_EQ(run_podman({"pull", "--tls-verify=false", ref("skopeo/app:1")}).exit_code, 0);
    auto pushed = run_podman({"push", "--tls-verify=false", "--sign-by-sigstore-private-key",
                              path("berth.key"), "--sign-passphrase-file", path("passphrase"),
                              ref("skopeo/app:1"), "docker://" + ref("podman/app:1")});
    ASSERT_EQ(pushed.exit_code, 0) << pushed.describe();
    auto podman_verified = berth({"verify", "--key", path("berth.pub"), ref("podman/app:1")});
    EXPECT_EQ(podman_verified.exit_code, 0) << podman_verified.describe();
}

TEST_F(TrustTest, PodmanPullsWhatBerthSignedAndBothRefuseWhatWasTamperedWith) {
    keygen("berth");
    std::string digest = push_busybox("team/app:1");
    ASSERT_EQ(with_password({"sign", "--key", path("berth.key"), ref("team/app:1")}).exit_code, 0);
    std::string policy = sigstore_policy(path("berth.pub"), "matchRepoDigestOrExact");
    // podman's verdicts, where its containers/image verifies sigstore signatures.
    const std::string no_sigstore = peers_without_sigstore();
    auto podman_pulls = [&](const std::string& image) {
        if (!no_sigstore.empty()) return -1;
        return run_podman({"pull", "--tls-verify=false", "--signature-policy", policy, ref(image)})
            .exit_code;
    };
    if (no_sigstore.empty())
        EXPECT_EQ(podman_pulls("team/app:1"), 0);
    else
        std::cerr << "podman's checks skipped: " << no_sigstore << "\n";
    auto ours = berth({"pull", "--signature-policy", policy, ref("team/app:1")});
    EXPECT_EQ(ours.exit_code, 0) << ours.describe();

    // Unsigned.
    push_busybox("team/unsigned:1");
    if (no_sigstore.empty()) {
        EXPECT_NE(podman_pulls("team/unsigned:1"), 0);
    }
    Berth fresh;
    auto unsigned_pull = fresh({"pull", "--signature-policy", policy, ref("team/unsigned:1")});
    EXPECT_EQ(unsigned_pull.exit_code, 1);
    EXPECT_NE(unsigned_pull.err.find("no signature"), std::string::npos) << unsigned_pull.err;
    EXPECT_NE(unsigned_pull.err.find("scope docker \"" + registry.host() + "\""), std::string::npos)
        << unsigned_pull.err;

    // A tampered manifest: signed, then the manifest at the tag changed (another digest).
    std::string original = push_busybox("team/tampered:1");
    ASSERT_EQ(with_password({"sign", "--key", path("berth.key"), ref("team/tampered:1")}).exit_code,
              0);
    std::string tampered = push_variant("team/tampered", "1", "tampered");
    ASSERT_NE(tampered, original);
    if (no_sigstore.empty()) {
        EXPECT_NE(podman_pulls("team/tampered:1"), 0);
    }
    auto tampered_pull = fresh({"pull", "--signature-policy", policy, ref("team/tampered:1")});
    EXPECT_EQ(tampered_pull.exit_code, 1);
    EXPECT_NE(tampered_pull.err.find("no signature"), std::string::npos) << tampered_pull.err;
    // ... and its old signature image copied to the new digest: signed, but another manifest.
    ASSERT_EQ(skopeo_copy("docker://" + ref("team/tampered:" + sig_tag(original)),
                          "docker://" + ref("team/tampered:" + sig_tag(tampered)))
                  .exit_code,
              0);
    if (no_sigstore.empty()) {
        EXPECT_NE(podman_pulls("team/tampered:1"), 0);
    }
    tampered_pull = fresh({"pull", "--signature-policy", policy, ref("team/tampered:1")});
    EXPECT_EQ(tampered_pull.exit_code, 1);
    EXPECT_NE(tampered_pull.err.find("signs manifest " + original), std::string::npos)
        << tampered_pull.err;

    // A swapped signature layer: the victim is signed too, but its signature image now holds
    // another image's signature layer.
    std::string victim = push_variant("team/victim", "1", "victim");
    ASSERT_EQ(with_password({"sign", "--key", path("berth.key"), ref("team/victim:1")}).exit_code,
              0);
    if (no_sigstore.empty()) {
        ASSERT_EQ(podman_pulls("team/victim:1"), 0);
    }
    ASSERT_EQ(skopeo_copy("docker://" + ref("team/app:" + sig_tag(digest)),
                          "docker://" + ref("team/victim:" + sig_tag(victim)))
                  .exit_code,
              0);
    if (no_sigstore.empty()) {
        EXPECT_NE(podman_pulls("team/victim:1"), 0);
    }
    auto swapped = fresh({"pull", "--signature-policy", policy, ref("team/victim:1")});
    EXPECT_EQ(swapped.exit_code, 1);
    EXPECT_NE(swapped.err.find("signs manifest " + digest), std::string::npos) << swapped.err;

    // A signature for another repository: the image and its signature copied elsewhere.
    ASSERT_EQ(skopeo_copy("docker://" + ref("team/app@" + digest), "docker://" + ref("other/app:1"),
                          {"--preserve-digests"})
                  .exit_code,
              0);
    ASSERT_EQ(skopeo_copy("docker://" + ref("team/app:" + sig_tag(digest)),
                          "docker://" + ref("other/app:" + sig_tag(digest)))
                  .exit_code,
              0);
    if (no_sigstore.empty()) {
        EXPECT_NE(podman_pulls("other/app:1"), 0);
    }
    auto other_repo = fresh({"pull", "--signature-policy", policy, ref("other/app:1")});
    EXPECT_EQ(other_repo.exit_code, 1);
    EXPECT_NE(other_repo.err.find("identity mismatch"), std::string::npos) << other_repo.err;
    EXPECT_TRUE(fresh.stored_blobs().empty());
    EXPECT_TRUE(fresh.snapshots().empty());
}

TEST_F(TrustTest, PullAndRunRefuseWhatThePolicyRejectsAndStoreNothing) {
    keygen("berth");
    push_busybox("team/unsigned:1");
    std::string policy = sigstore_policy(path("berth.pub"), "matchRepository");
    auto pulled = berth({"pull", "--signature-policy", policy, ref("team/unsigned:1")});
    EXPECT_EQ(pulled.exit_code, 1);
    EXPECT_EQ(std::count(pulled.err.begin(), pulled.err.end(), '\n'), 1) << pulled.err;
    EXPECT_NE(
        pulled.err.find(ref("team/unsigned:1") + ": rejected by the signature policy " + policy),
        std::string::npos)
        << pulled.err;
    expect_nothing_stored();
    auto run = berth({"--signature-policy", policy, "run", "--rm", "--network", "none",
                      ref("team/unsigned:1"), "true"});
    EXPECT_EQ(run.exit_code, 125) << run.describe();
    EXPECT_NE(run.err.find("no signature"), std::string::npos) << run.err;
    expect_nothing_stored();

    // GPG: refused where asked for, with the reason.
    std::string gpg = path("gpg.json");
    write_text(gpg, R"({"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k.gpg"}]})");
    auto gpg_pull = berth({"pull", "--signature-policy", gpg, ref("team/unsigned:1")});
    EXPECT_EQ(gpg_pull.exit_code, 1);
    EXPECT_NE(gpg_pull.err.find("GPG signatures are not supported"), std::string::npos)
        << gpg_pull.err;

    // A bad policy file: one line naming it, nothing stored.
    std::string bad = path("bad.json");
    write_text(bad, R"({"default":[{"type":"trustEverything"}]})");
    auto bad_pull = berth({"pull", "--signature-policy", bad, ref("team/unsigned:1")});
    EXPECT_EQ(bad_pull.exit_code, 1);
    EXPECT_NE(
        bad_pull.err.find(bad + ": default[0].type: unknown requirement type \"trustEverything\""),
        std::string::npos)
        << bad_pull.err;
    std::string bad_scope = path("scope.json");
    write_text(
        bad_scope,
        R"({"default":[{"type":"reject"}],"transports":{"docker":{"http://x":[{"type":"reject"}]}}})");
    auto scope_pull = berth({"pull", "--signature-policy", bad_scope, ref("team/unsigned:1")});
    EXPECT_EQ(scope_pull.exit_code, 1);
    EXPECT_NE(scope_pull.err.find("bad scope \"http://x\""), std::string::npos) << scope_pull.err;
    expect_nothing_stored();

    // Signed: pulled and run.
    ASSERT_EQ(with_password({"sign", "--key", path("berth.key"), ref("team/unsigned:1")}).exit_code,
              0);
    // ... but by another key than the policy's: refused at create, naming why.
    keygen("stranger");
    std::string stranger = sigstore_policy(path("stranger.pub"), "matchExact");
    auto created = berth({"--signature-policy", stranger, "create", "--network", "none",
                          ref("team/unsigned:1"), "true"});
    EXPECT_EQ(created.exit_code, 125) << created.describe();
    EXPECT_NE(created.err.find("does not verify with the key"), std::string::npos) << created.err;
    expect_nothing_stored();
    EXPECT_EQ(trimmed(berth({"ps", "-aq"}).out), "");
    auto ok = berth({"--signature-policy", policy, "run", "--rm", "--network", "none",
                     ref("team/unsigned:1"), "echo", "signed"});
    EXPECT_EQ(ok.exit_code, 0) << ok.describe();
    EXPECT_EQ(trimmed(ok.out), "signed");
}

// containers-policy.json as containers/image reads it: for each policy and image, skopeo copy
// --policy and berth pull give the verdict the table expects (the most specific scope wins,
// namespaces enclose repositories, the transport's "" scope comes before default, every
// requirement must hold, a digest scope applies to a pull by that digest only), podman pull
// agrees where it is asked, and the files both refuse are refused by berth with one line.
TEST_F(TrustTest, PolicyVerdictsAreContainersImages) {
    std::string digest = push_busybox("team/app:1");
    push_busybox("team/app:2");
    push_busybox("team/sub/y:1");
    push_busybox("other/x:1");
    const std::string h = registry.host();
    const nlohmann::json accept = {{{"type", "insecureAcceptAnything"}}};
    const nlohmann::json reject = {{{"type", "reject"}}};
    const std::vector<std::string> images = {"team/app:1", "team/app:2", "team/sub/y:1",
                                             "other/x:1", "team/app@" + digest};
    struct Case {
        std::string name;
        nlohmann::json default_requirements, docker_scopes;
        std::string verdicts;  // per image: 'y' accepted, 'n' rejected
    };
    const std::vector<Case> cases = {
        {"namespace", reject, {{h + "/team", accept}}, "yyyny"},
        {"tag", accept, {{h + "/team/app:1", reject}}, "nyyyy"},
        {"tag over repository",
         accept,
         {{h + "/team/app", reject}, {h + "/team/app:2", accept}},
         "nyyyn"},
        {"repository over registry", accept, {{h, reject}, {h + "/other", accept}}, "nnnyn"},
        {"transport's own", accept, {{"", reject}}, "nnnnn"},
        {"over default", reject, {{"", accept}, {h + "/other/x", reject}}, "yyyny"},
        {"digest", reject, {{h + "/team/app@" + digest, accept}}, "nnnny"},
        {"all must hold",
         accept,
         {{h + "/team", nlohmann::json::array({accept[0], reject[0]})}},
         "nnnyn"},
    };
    std::string out = path("skopeo-out");
    for (const auto& c : cases) {
        nlohmann::json policy = {{"default", c.default_requirements},
                                 {"transports", {{"docker", c.docker_scopes}}}};
        std::string file = path("policy.json");
        write_text(file, policy.dump());
        for (size_t i = 0; i < images.size(); ++i) {
            bool expected = c.verdicts[i] == 'y';
            fs::remove_all(out);
            auto skopeo = run_command({"skopeo", "--policy", file, "copy", "--src-tls-verify=false",
                                       "docker://" + ref(images[i]), "oci:" + out + ":x"});
            EXPECT_EQ(skopeo.exit_code == 0, expected)
                << c.name << ", " << images[i] << ": skopeo " << skopeo.describe();
            auto pulled = berth({"pull", "-q", "--signature-policy", file, ref(images[i])});
            EXPECT_EQ(pulled.exit_code == 0, expected)
                << c.name << ", " << images[i] << ": berth " << pulled.describe();
            if (!expected) {
                EXPECT_NE(pulled.err.find("rejected by the signature policy"), std::string::npos)
                    << pulled.err;
            }
        }
    }
    // podman (containers/image too) on the first case.
    nlohmann::json namespace_policy = {{"default", reject},
                                       {"transports", {{"docker", {{h + "/team", accept}}}}}};
    write_text(path("podman-policy.json"), namespace_policy.dump());
    EXPECT_EQ(run_podman({"pull", "-q", "--tls-verify=false", "--signature-policy",
                          path("podman-policy.json"), ref("team/app:1")})
                  .exit_code,
              0);
    EXPECT_NE(run_podman({"pull", "-q", "--tls-verify=false", "--signature-policy",
                          path("podman-policy.json"), ref("other/x:1")})
                  .exit_code,
              0);

    // Files containers/image refuses, refused by berth too (one line naming the file).
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"unknown type", R"({"default":[{"type":"trustEverything"}]})"},
        {"no default", R"({"transports":{"docker":{"":[{"type":"reject"}]}}})"},
        {"unknown field", R"({"default":[{"type":"reject","why":"x"}]})"},
        {"sigstoreSigned without a key", R"({"default":[{"type":"sigstoreSigned"}]})"},
        {"not JSON", R"({"default":[)"},
    };
    fs::remove_all(out);
    for (const auto& [name, text] : bad) {
        std::string file = path("bad-policy.json");
        write_text(file, text);
        auto skopeo = run_command({"skopeo", "--policy", file, "copy", "--src-tls-verify=false",
                                   "docker://" + ref("team/app:1"), "oci:" + out + ":x"});
        EXPECT_NE(skopeo.exit_code, 0) << name << ": skopeo accepted it";
        auto pulled = berth({"pull", "--signature-policy", file, ref("team/app:1")});
        EXPECT_EQ(pulled.exit_code, 1) << name;
        EXPECT_EQ(std::count(pulled.err.begin(), pulled.err.end(), '\n'), 1) << pulled.err;
        EXPECT_NE(pulled.err.find(file), std::string::npos) << name << ": " << pulled.err;
    }
}

// cosign's key file, written and read by an implementation apart from berth's
// (scripts/cosign-key.py: pynacl's secretbox, hashlib's scrypt): berth's key decrypts there to
// the key of berth's .pub, and a key it encrypted with newer cosign's scrypt cost (N=65536)
// signs in berth, verified with the public key openssl derives.
TEST_F(TrustTest, KeyFilesInterchangeWithAnotherCosignFormatImplementation) {
    keygen("berth");
    CommandOptions with_pw;
    with_pw.env.push_back(std::string("BERTH_PASSWORD=") + kPassword);
    std::string tool = source_dir() + "/scripts/cosign-key.py";
    auto decrypted = run_command({"/usr/bin/python3", tool, "decrypt", path("berth.key")}, with_pw);
    ASSERT_EQ(decrypted.exit_code, 0) << decrypted.describe();
    write_text(path("berth.pem"), decrypted.out);
    auto der_of_pub = [&](const std::vector<std::string>& args) {
        auto r = run_command(args);
        EXPECT_EQ(r.exit_code, 0) << r.describe();
        return r.out;
    };
    std::string derived =
        der_of_pub({"openssl", "pkey", "-in", path("berth.pem"), "-pubout", "-outform", "DER"});
    EXPECT_FALSE(derived.empty());
    EXPECT_EQ(derived, der_of_pub({"openssl", "pkey", "-pubin", "-in", path("berth.pub"),
                                   "-outform", "DER"}));

    // --password-stdin: the password is the first line of stdin.
    CommandOptions stdin_pw;
    stdin_pw.input = "from stdin\n";
    auto generated = berth(
        {"key", "generate", "--password-stdin", "--output-key-prefix", path("stdin")}, stdin_pw);
    ASSERT_EQ(generated.exit_code, 0) << generated.describe();
    CommandOptions env_pw;
    env_pw.env.emplace_back("BERTH_PASSWORD=from stdin");
    EXPECT_EQ(
        run_command({"/usr/bin/python3", tool, "decrypt", path("stdin.key")}, env_pw).exit_code, 0);
    EXPECT_EQ(::access(path("stdin.key").c_str(), F_OK), 0);
    struct stat key_stat {};
    ASSERT_EQ(::stat(path("stdin.key").c_str(), &key_stat), 0);
    EXPECT_EQ(key_stat.st_mode & 0777, 0600U);  // the private key is the owner's alone
    // An existing key is not overwritten.
    auto again = berth(
        {"key", "generate", "--password-stdin", "--output-key-prefix", path("stdin")}, stdin_pw);
    EXPECT_EQ(again.exit_code, 1);
    EXPECT_NE(again.err.find("exists already"), std::string::npos) << again.err;

    ASSERT_EQ(run_command({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                           "ec_paramgen_curve:P-256", "-out", path("ext.pem")})
                  .exit_code,
              0);
    ASSERT_EQ(
        run_command({"openssl", "pkey", "-in", path("ext.pem"), "-pubout", "-out", path("ext.pub")})
            .exit_code,
        0);
    auto encrypted = run_command(
        {"/usr/bin/python3", tool, "encrypt", path("ext.pem"), path("ext.key")}, with_pw);
    ASSERT_EQ(encrypted.exit_code, 0) << encrypted.describe();
    std::string digest = push_busybox("team/app:1");
    auto signed_ext = with_password({"sign", "--key", path("ext.key"), ref("team/app:1")});
    ASSERT_EQ(signed_ext.exit_code, 0) << signed_ext.describe();
    auto verified = berth({"verify", "--key", path("ext.pub"), ref("team/app:1")});
    ASSERT_EQ(verified.exit_code, 0) << verified.describe();
    EXPECT_EQ(nlohmann::json::parse(verified.out)[0]["critical"]["image"]["docker-manifest-digest"],
              digest);
    CommandOptions wrong;
    wrong.env.emplace_back("BERTH_PASSWORD=not it");
    auto refused = berth({"sign", "--key", path("ext.key"), ref("team/app:1")}, wrong);
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_NE(refused.err.find(path("ext.key") + ": wrong password"), std::string::npos)
        << refused.err;
}

TEST_F(TrustTest, BadKeysAndSignatureImagesAreOneLineErrors) {
    keygen("berth");
    push_busybox("team/app:1");
    auto one_line = [](const CommandResult& r) {
        return r.exit_code == 1 && std::count(r.err.begin(), r.err.end(), '\n') == 1;
    };
    CommandOptions wrong;
    wrong.env.emplace_back("BERTH_PASSWORD=wrong");
    auto bad_password = berth({"sign", "--key", path("berth.key"), ref("team/app:1")}, wrong);
    EXPECT_TRUE(one_line(bad_password)) << bad_password.describe();
    EXPECT_NE(bad_password.err.find(path("berth.key") + ": wrong password"), std::string::npos);

    auto rsa = run_command({"openssl", "genpkey", "-algorithm", "RSA", "-out", path("rsa.key")});
    ASSERT_EQ(rsa.exit_code, 0);
    run_command({"openssl", "pkey", "-in", path("rsa.key"), "-pubout", "-out", path("rsa.pub")});
    auto rsa_sign = with_password({"sign", "--key", path("rsa.key"), ref("team/app:1")});
    EXPECT_TRUE(one_line(rsa_sign)) << rsa_sign.describe();
    EXPECT_NE(rsa_sign.err.find("not an encrypted sigstore private key"), std::string::npos);
    auto rsa_verify = berth({"verify", "--key", path("rsa.pub"), ref("team/app:1")});
    EXPECT_TRUE(one_line(rsa_verify)) << rsa_verify.describe();
    EXPECT_NE(rsa_verify.err.find("an ECDSA P-256 key is required, this is an RSA 2048 key"),
              std::string::npos);
    run_command({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384",
                 "-out", path("p384.key")});
    run_command({"openssl", "pkey", "-in", path("p384.key"), "-pubout", "-out", path("p384.pub")});
    auto p384 = berth({"verify", "--key", path("p384.pub"), ref("team/app:1")});
    EXPECT_NE(p384.err.find("curve secp384r1"), std::string::npos) << p384.describe();
    write_text(path("broken.pub"),
               "-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----\n");
    auto broken = berth({"verify", "--key", path("broken.pub"), ref("team/app:1")});
    EXPECT_TRUE(one_line(broken)) << broken.describe();
    EXPECT_NE(broken.err.find(path("broken.pub") + ": not a PEM file"), std::string::npos);

    // A signature image that is an index, not an image.
    std::string digest = digest_of("team/app:1");
    nlohmann::json index = {{"schemaVersion", 2},
                            {"mediaType", "application/vnd.oci.image.index.v1+json"},
                            {"manifests", nlohmann::json::array()}};
    ASSERT_EQ(put_manifest("team/app", sig_tag(digest), index.dump(),
                           "application/vnd.oci.image.index.v1+json")
                  .exit_code,
              0);
    auto odd = berth({"verify", "--key", path("berth.pub"), ref("team/app:1")});
    EXPECT_TRUE(one_line(odd)) << odd.describe();
    EXPECT_NE(odd.err.find("unexpected media type \"application/vnd.oci.image.index.v1+json\""),
              std::string::npos);

    // A 100 MB signature payload: refused from its descriptor, before any download.
    std::string big = path("big");
    ASSERT_EQ(run_command({"truncate", "-s", "100M", big}).exit_code, 0);
    auto upload = run_command({"sh", "-c",
                               "loc=$(curl -sf -X POST -D - " + registry.url() +
                                   "/v2/team/app/blobs/uploads/ | tr -d '\\r' | "
                                   "sed -n 's/^[Ll]ocation: //p'); "
                                   "d=sha256:$(sha256sum " +
                                   big +
                                   " | cut -d' ' -f1); "
                                   "case $loc in http*) ;; *) loc=" +
                                   registry.url() +
                                   "$loc;; esac; "
                                   "case $loc in *\\?*) sep='&';; *) sep='?';; esac; "
                                   "curl -sf -X PUT -H 'Content-Type: application/octet-stream' "
                                   "--data-binary @" +
                                   big + " \"$loc${sep}digest=$d\" && echo $d"});
    ASSERT_EQ(upload.exit_code, 0) << upload.describe();
    std::string big_digest = trimmed(upload.out);
    nlohmann::json sig = raw_manifest("team/app:1");  // any config blob that exists
    nlohmann::json huge = {
        {"schemaVersion", 2},
        {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
        {"config", sig["config"]},
        {"layers",
         {{{"mediaType", "application/vnd.dev.cosign.simplesigning.v1+json"},
           {"digest", big_digest},
           {"size", 100 * 1024 * 1024},
           {"annotations", {{"dev.cosignproject.cosign/signature", "MEUCIQ=="}}}}}}};
    ASSERT_EQ(put_manifest("team/app", sig_tag(digest), huge.dump(),
                           "application/vnd.oci.image.manifest.v1+json")
                  .exit_code,
              0);
    auto too_big = berth({"verify", "--key", path("berth.pub"), ref("team/app:1")});
    EXPECT_TRUE(one_line(too_big)) << too_big.describe();
    EXPECT_NE(too_big.err.find("a signature payload of 104857600 bytes"), std::string::npos);
    std::string policy = sigstore_policy(path("berth.pub"), "matchRepository");
    auto refused = berth({"pull", "--signature-policy", policy, ref("team/app:1")});
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_NE(refused.err.find("104857600"), std::string::npos) << refused.err;
    expect_nothing_stored();
}

TEST_F(TrustTest, SbomOfTheDebianImage) {
    std::string layout = debian_layout();
    auto copied = skopeo_copy("oci:" + layout + ":bookworm", "docker://" + ref("library/debian:12"),
                              {"--format", "oci"});
    ASSERT_EQ(copied.exit_code, 0) << copied.describe();
    ASSERT_EQ(berth({"pull", "-q", ref("library/debian:12")}).exit_code, 0);
    auto spdx = berth({"sbom", "--format", "spdx-json", "-o", path("debian.spdx.json"),
                       ref("library/debian:12")});
    ASSERT_EQ(spdx.exit_code, 0) << spdx.describe();
    // A device as -o is written to, not replaced.
    ASSERT_EQ(berth({"sbom", "-o", "/dev/null", ref("library/debian:12")}).exit_code, 0);
    struct stat null_stat {};
    ASSERT_EQ(::stat("/dev/null", &null_stat), 0);
    EXPECT_TRUE(S_ISCHR(null_stat.st_mode));
    auto cdx = berth({"sbom", "--format", "cyclonedx-json", ref("library/debian:12")});
    ASSERT_EQ(cdx.exit_code, 0) << cdx.describe();
    write_text(path("debian.cdx.json"), cdx.out);

    // The dpkg packages are dpkg-query's inside the container.
    auto query = berth({"run", "--rm", "--network", "none", ref("library/debian:12"), "dpkg-query",
                        "-W", "-f", "${Package}\\n"});
    ASSERT_EQ(query.exit_code, 0) << query.describe();
    size_t dpkg_count = lines_of(trimmed(query.out)).size();
    ASSERT_GT(dpkg_count, 50U);
    auto doc = nlohmann::json::parse(std::ifstream(path("debian.spdx.json")));
    size_t debs = 0;
    for (const auto& p : doc["packages"])
        for (const auto& r : p.value("externalRefs", nlohmann::json::array()))
            if (r["referenceLocator"].get<std::string>().starts_with("pkg:deb/debian/")) ++debs;
    EXPECT_EQ(debs, dpkg_count);
    auto bom = nlohmann::json::parse(cdx.out);
    size_t cdx_debs = 0;
    for (const auto& c : bom["components"])
        if (c.value("purl", "").starts_with("pkg:deb/debian/")) ++cdx_debs;
    EXPECT_EQ(cdx_debs, dpkg_count);
    EXPECT_EQ(bom["components"][0]["type"], "operating-system");
    EXPECT_EQ(bom["components"][0]["name"], "debian");

    // Valid against the published schemas (scripts/sbom-schemas.sh fetches them).
    CommandOptions slow;
    slow.timeout = std::chrono::minutes(3);
    auto schemas =
        run_command({source_dir() + "/scripts/sbom-schemas.sh", work.path() + "/schemas"}, slow);
    ASSERT_EQ(schemas.exit_code, 0) << schemas.describe();
    auto valid =
        run_command({"/usr/bin/python3", source_dir() + "/scripts/validate-sbom.py",
                     work.path() + "/schemas", path("debian.spdx.json"), path("debian.cdx.json")});
    EXPECT_EQ(valid.exit_code, 0) << valid.describe();

    // Attached as a referrer, and read back from the registry.
    auto attached =
        berth({"sbom", "--attach", "--format", "cyclonedx-json", ref("library/debian:12")});
    ASSERT_EQ(attached.exit_code, 0) << attached.describe();
    Berth other;
    auto back =
        other({"sbom", "--from-registry", "--format", "cyclonedx-json", ref("library/debian:12")});
    ASSERT_EQ(back.exit_code, 0) << back.describe();
    EXPECT_EQ(nlohmann::json::parse(back.out)["components"].size(), bom["components"].size());
    EXPECT_TRUE(other.stored_blobs().empty());  // nothing pulled for it
}

// Build provenance: what `berth build --provenance [--sign-key]` attaches (through
// trust::attach_provenance, called here directly until the build lands), read back and
// verified by `berth inspect --provenance`; the DSSE envelope checked both ways against
// sigstore's JavaScript (@sigstore/core).
TEST_F(TrustTest, ProvenanceAttachedSignedAndInspected) {
    keygen("builder");
    keygen("other");
    std::string digest = push_busybox("team/built:1");
    berth::image::Settings settings = berth::image::parse_settings("", "none");
    berth::distribution::HttpClient http;
    berth::distribution::CredentialStore credentials(path("auth.json"), false);
    auto client = berth::distribution::open_registry(http, registry.host(), settings, credentials);
    auto subject =
        berth::trust::manifest_descriptor(*client, "team/built", berth::Digest::parse(digest));

    namespace it = berth::trust::intoto;
    it::Statement statement;
    statement.subjects.push_back(it::descriptor_of(ref("team/built:1"), subject.digest, false));
    statement.provenance.containerfile = "Containerfile";
    statement.provenance.containerfile_digest = berth::digest_of("FROM busybox\n");
    statement.provenance.build_args = {{"VERSION", "1.2"}};
    statement.provenance.materials.push_back(it::descriptor_of(
        "docker-image://docker.io/library/busybox@" + berth::digest_of("base").str(),
        berth::digest_of("base"), true));
    statement.provenance.started_on = "2026-12-07T10:00:00Z";
    statement.provenance.finished_on = "2026-12-07T10:00:05Z";
    berth::trust::PrivateKey key = berth::trust::decrypt_private_key(
        berth::read_file(path("builder.key")), kPassword, path("builder.key"));
    berth::trust::attach_provenance(*client, "team/built", subject, statement, &key);

    auto inspected =
        berth({"inspect", "--provenance", "--key", path("builder.pub"), ref("team/built:1")});
    ASSERT_EQ(inspected.exit_code, 0) << inspected.describe() << registry.log();
    auto docs = nlohmann::json::parse(inspected.out);
    ASSERT_EQ(docs.size(), 1U) << inspected.out;
    EXPECT_EQ(docs[0]["_type"], "https://in-toto.io/Statement/v1");
    EXPECT_EQ(docs[0]["predicateType"], "https://slsa.dev/provenance/v1");
    EXPECT_EQ("sha256:" + docs[0]["subject"][0]["digest"]["sha256"].get<std::string>(), digest);
    auto definition = docs[0]["predicate"]["buildDefinition"];
    EXPECT_EQ(definition["externalParameters"]["buildArgs"]["VERSION"], "1.2");
    EXPECT_EQ(definition["resolvedDependencies"][0]["digest"]["sha256"],
              berth::digest_of("base").hex());
    EXPECT_EQ(docs[0]["predicate"]["runDetails"]["metadata"]["finishedOn"], "2026-12-07T10:00:05Z");
    // Without a key it is printed too; with another key it is refused, one line.
    EXPECT_EQ(berth({"inspect", "--provenance", ref("team/built:1")}).exit_code, 0);
    auto wrong_key =
        berth({"inspect", "--provenance", "--key", path("other.pub"), ref("team/built:1")});
    EXPECT_EQ(wrong_key.exit_code, 1);
    EXPECT_NE(wrong_key.err.find("does not verify with the key"), std::string::npos)
        << wrong_key.err;
    EXPECT_EQ(std::count(wrong_key.err.begin(), wrong_key.err.end(), '\n'), 1) << wrong_key.err;

    // sigstore's JavaScript (@sigstore/core) verifies berth's envelope ...
    auto found = berth::trust::find_provenance(*client, "team/built", subject.digest, nullptr);
    ASSERT_EQ(found.accepted.size(), 1U);
    write_text(path("berth.dsse.json"), found.accepted[0].document);
    CommandOptions slow;
    slow.timeout = std::chrono::minutes(2);
    auto core = run_command({source_dir() + "/scripts/sigstore-js.sh", path("sigstore-js")}, slow);
    ASSERT_EQ(core.exit_code, 0) << core.describe();
    CommandOptions js;
    js.env.push_back("SIGSTORE_CORE=" + trimmed(core.out));
    std::string dsse_check = source_dir() + "/scripts/dsse-check.mjs";
    auto checked = run_command(
        {"node", dsse_check, "verify", path("builder.pub"), path("berth.dsse.json")}, js);
    EXPECT_EQ(checked.exit_code, 0) << checked.describe();
    auto other_checked =
        run_command({"node", dsse_check, "verify", path("other.pub"), path("berth.dsse.json")}, js);
    EXPECT_EQ(other_checked.exit_code, 1) << other_checked.describe();
    // ... and berth verifies one it signed with berth's key, decrypted from cosign's format by
    // an implementation of its own (scripts/cosign-key.py: pynacl, hashlib's scrypt).
    CommandOptions with_pw;
    with_pw.env.push_back(std::string("BERTH_PASSWORD=") + kPassword);
    auto decrypted = run_command({"/usr/bin/python3", source_dir() + "/scripts/cosign-key.py",
                                  "decrypt", path("builder.key")},
                                 with_pw);
    ASSERT_EQ(decrypted.exit_code, 0) << decrypted.describe();
    write_text(path("builder.pem"), decrypted.out);
    std::string other_digest = push_variant("team/js", "1", "js");
    it::Statement js_statement = statement;
    js_statement.subjects[0] =
        it::descriptor_of(ref("team/js:1"), berth::Digest::parse(other_digest), false);
    write_text(path("statement.json"), it::to_json(js_statement));
    // attach_provenance refuses a statement about another image before pushing anything.
    EXPECT_THROW(
        berth::trust::attach_provenance(*client, "team/built", subject, js_statement, &key),
        berth::Error);
    auto js_signed = run_command({"node", dsse_check, "sign", path("builder.pem"),
                                  path("statement.json"), path("js.dsse.json")},
                                 js);
    ASSERT_EQ(js_signed.exit_code, 0) << js_signed.describe();
    berth::trust::Artifact artifact;
    artifact.artifact_type = artifact.media_type = "application/vnd.dsse.envelope.v1+json";
    artifact.bytes = berth::read_file(path("js.dsse.json"));
    berth::trust::push_referrer(
        *client, "team/js",
        berth::trust::manifest_descriptor(*client, "team/js", berth::Digest::parse(other_digest)),
        artifact);
    auto js_verified =
        berth({"inspect", "--provenance", "--key", path("builder.pub"), ref("team/js:1")});
    EXPECT_EQ(js_verified.exit_code, 0) << js_verified.describe();

    // Unsigned provenance: shown without a key, refused with one.
    std::string plain = push_variant("team/plain", "1", "plain");
    it::Statement unsigned_statement = statement;
    unsigned_statement.subjects[0] =
        it::descriptor_of(ref("team/plain:1"), berth::Digest::parse(plain), false);
    berth::trust::attach_provenance(
        *client, "team/plain",
        berth::trust::manifest_descriptor(*client, "team/plain", berth::Digest::parse(plain)),
        unsigned_statement, nullptr);
    EXPECT_EQ(berth({"inspect", "--provenance", ref("team/plain:1")}).exit_code, 0);
    auto not_signed =
        berth({"inspect", "--provenance", "--key", path("builder.pub"), ref("team/plain:1")});
    EXPECT_EQ(not_signed.exit_code, 1);
    EXPECT_NE(not_signed.err.find("not signed"), std::string::npos) << not_signed.err;

    // Another image's signed provenance attached here: refused, naming both digests.
    std::string swapped = push_variant("team/swapped", "1", "swapped");
    artifact.bytes = found.accepted[0].document;
    berth::trust::push_referrer(
        *client, "team/swapped",
        berth::trust::manifest_descriptor(*client, "team/swapped", berth::Digest::parse(swapped)),
        artifact);
    auto other_subject =
        berth({"inspect", "--provenance", "--key", path("builder.pub"), ref("team/swapped:1")});
    EXPECT_EQ(other_subject.exit_code, 1);
    EXPECT_NE(other_subject.err.find("the statement is about " + digest + ", not " + swapped),
              std::string::npos)
        << other_subject.err;
    auto key_alone = berth({"inspect", "--key", path("builder.pub"), ref("team/built:1")});
    EXPECT_EQ(key_alone.exit_code, 1) << key_alone.describe();
    EXPECT_NE(key_alone.err.find("only with --provenance"), std::string::npos) << key_alone.err;
    // Nothing attached.
    push_busybox("team/bare:1");
    auto bare = berth({"inspect", "--provenance", ref("team/bare:1")});
    EXPECT_EQ(bare.exit_code, 1);
    EXPECT_NE(bare.err.find("no provenance attached to"), std::string::npos) << bare.err;
}

// A registry without the referrers API (Debian's docker-registry, CNCF Distribution 2.8): a
// signature with --attach referrers and an attached SBOM go to the fallback index at tag
// sha256-<hex>, as the distribution spec asks of clients, and verify and --from-registry find
// them there.
TEST_F(TrustTest, ReferrersFallBackToTheTagSchemaWithoutTheApi) {
    keygen("berth");
    TestRegistry distribution;
    auto ref_there = [&](const std::string& name) { return distribution.host() + "/" + name; };
    if (layout_.empty()) layout_ = make_busybox_layout(work.path());
    ASSERT_EQ(skopeo_copy("oci:" + layout_ + ":latest", "docker://" + ref_there("team/app:1"),
                          {"--format", "oci"})
                  .exit_code,
              0);
    auto signed_there = with_password(
        {"sign", "--key", path("berth.key"), "--attach", "referrers", ref_there("team/app:1")});
    ASSERT_EQ(signed_there.exit_code, 0) << signed_there.describe() << distribution.log();
    auto digest = run_command({"skopeo", "inspect", "--tls-verify=false", "--format", "{{.Digest}}",
                               "docker://" + ref_there("team/app:1")});
    ASSERT_EQ(digest.exit_code, 0) << digest.describe();
    std::string fallback_tag = "sha256-" + trimmed(digest.out).substr(7);
    auto fallback = [&] {
        auto r = run_command({"skopeo", "inspect", "--raw", "--tls-verify=false",
                              "docker://" + ref_there("team/app:" + fallback_tag)});
        return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
    };
    auto index = fallback();
    ASSERT_EQ(index["manifests"].size(), 1U) << index.dump();
    EXPECT_EQ(index["manifests"][0]["artifactType"],
              "application/vnd.dev.cosign.artifact.sig.v1+json");
    auto verified = berth({"verify", "--key", path("berth.pub"), ref_there("team/app:1")});
    EXPECT_EQ(verified.exit_code, 0) << verified.describe();

    ASSERT_EQ(berth({"pull", "-q", ref_there("team/app:1")}).exit_code, 0);
    auto attached = berth({"sbom", "--attach", "--format", "spdx-json", ref_there("team/app:1")});
    ASSERT_EQ(attached.exit_code, 0) << attached.describe() << distribution.log();
    EXPECT_EQ(fallback()["manifests"].size(), 2U);
    Berth other;
    auto back =
        other({"sbom", "--from-registry", "--format", "spdx-json", ref_there("team/app:1")});
    ASSERT_EQ(back.exit_code, 0) << back.describe();
    EXPECT_EQ(nlohmann::json::parse(back.out)["spdxVersion"], "SPDX-2.3");
}

// build's FROM under the signature policy: an unsigned base image is refused, naming the image
// and why, and nothing of it is stored; once signed, the same build goes through.
TEST_F(TrustTest, BuildFromIsCheckedByThePolicy) {
    keygen("berth");
    push_busybox("team/base:1");
    std::string policy = sigstore_policy(path("berth.pub"), "matchRepository");
    std::string context = path("context");
    fs::create_directories(context);
    write_text(context + "/Containerfile", "FROM " + ref("team/base:1") + "\nLABEL built=yes\n");
    auto refused =
        berth({"--signature-policy", policy, "build", "-t", "localhost/built:1", context});
    EXPECT_NE(refused.exit_code, 0) << refused.describe();
    EXPECT_NE(refused.err.find(ref("team/base:1") + ": rejected by the signature policy " + policy),
              std::string::npos)
        << refused.err;
    EXPECT_NE(refused.err.find("no signature"), std::string::npos) << refused.err;
    EXPECT_TRUE(berth.stored_blobs().empty()) << berth.stored_blobs().size() << " blobs";
    EXPECT_TRUE(berth.snapshots().empty());
    EXPECT_EQ(trimmed(berth({"images", "-q"}).out), "");

    ASSERT_EQ(with_password({"sign", "--key", path("berth.key"), ref("team/base:1")}).exit_code, 0);
    auto built = berth({"--signature-policy", policy, "build", "-t", "localhost/built:1", context});
    ASSERT_EQ(built.exit_code, 0) << built.describe();
    auto inspected = berth({"inspect", "localhost/built:1"});
    ASSERT_EQ(inspected.exit_code, 0) << inspected.describe();
    EXPECT_EQ(nlohmann::json::parse(inspected.out)[0]["Config"]["Labels"]["built"], "yes")
        << inspected.out;
}
