// The image-spec types: digests, descriptors, manifests, indexes, configs, error bodies.
#include <gtest/gtest.h>

#include <functional>

#include "common/digest.hpp"
#include "common/json_reader.hpp"
#include "oci/distribution_error.hpp"
#include "oci/image_config.hpp"
#include "oci/image_index.hpp"
#include "oci/image_manifest.hpp"
#include "oci/media_types.hpp"

using namespace berth;
using namespace berth::oci;

namespace {

const std::string kHex(64, 'a');
const std::string kDigest = "sha256:" + kHex;

std::string manifest_json(
    const std::string& layer_digest = kDigest,
    const std::string& media_type = "application/vnd.oci.image.manifest.v1+json") {
    return R"({"schemaVersion":2,"mediaType":")" + media_type + R"(",
      "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
           kDigest + R"(","size":10},
      "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
           layer_digest + R"(","size":20}]})";
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(Digest, ParsesAndFormats) {
    Digest d = Digest::parse(kDigest);
    EXPECT_EQ(d.algorithm(), DigestAlgorithm::sha256);
    EXPECT_EQ(d.hex(), kHex);
    EXPECT_EQ(d.str(), kDigest);
    EXPECT_EQ(Digest::parse("sha512:" + std::string(128, '0')).algorithm(),
              DigestAlgorithm::sha512);
}

TEST(Digest, RejectsBadDigests) {
    EXPECT_THROW(Digest::parse("sha256:" + std::string(63, 'a')), InvalidDigest);
    EXPECT_THROW(Digest::parse("sha256:" + std::string(64, 'A')), InvalidDigest);
    EXPECT_THROW(Digest::parse(kHex), InvalidDigest);
    EXPECT_EQ(error_of([] { (void)Digest::parse("md5:abc"); }),
              "invalid digest \"md5:abc\": unsupported algorithm md5");
}

TEST(Digest, HashesSha256AndSha512) {
    EXPECT_EQ(digest_of("").str(),
              "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(digest_of("abc", DigestAlgorithm::sha512).hex().substr(0, 16), "ddaf35a193617aba");
    Hasher h;
    h.update("a");
    h.update("bc");
    EXPECT_EQ(h.finish(), digest_of("abc"));
}

TEST(Manifest, ParsesOciManifest) {
    Manifest m = parse_manifest(manifest_json(), "m");
    EXPECT_EQ(m.config.size, 10);
    ASSERT_EQ(m.layers.size(), 1u);
    EXPECT_EQ(m.layers[0].media_type, media_type::kOciLayerGzip);
    EXPECT_FALSE(m.is_docker());
    // Round trip through to_json keeps the fields.
    Manifest again = parse_manifest(to_json(m).dump(), "again");
    EXPECT_EQ(again.layers[0].digest, m.layers[0].digest);
}

TEST(Manifest, ErrorsNameTheField) {
    EXPECT_EQ(error_of([] { parse_manifest(manifest_json("sha256:xyz"), "busybox"); }),
              "busybox: layers[0].digest: invalid digest \"sha256:xyz\": expected 64 lowercase "
              "hex digits for sha256");
    EXPECT_EQ(error_of([] { parse_manifest("{\"schemaVersion\":1}", "old"); }),
              "old: Docker schema1 manifests are not supported");
    EXPECT_EQ(error_of([] { parse_manifest("{not json", "bad"); }).substr(0, 18),
              "bad: invalid JSON:");
    EXPECT_EQ(error_of([] { parse_manifest(manifest_json(kDigest, "text/plain"), "x"); }),
              "x: mediaType: unsupported media type text/plain");
    EXPECT_EQ(error_of([] {
                  parse_manifest(R"({"schemaVersion":2,"config":{"mediaType":"a","digest":")" +
                                     kDigest + R"(","size":-1},"layers":[]})",
                                 "neg");
              }),
              "neg: config.size: value -1 is out of range [0, 9223372036854775807]");
}

TEST(Manifest, DockerSchema2NeedsDockerConfig) {
    std::string docker = manifest_json(kDigest, std::string(media_type::kDockerManifest));
    EXPECT_NE(error_of([&] { parse_manifest(docker, "d"); }).find("config.mediaType"),
              std::string::npos);
}

TEST(Manifest, DetectsKind) {
    EXPECT_EQ(detect_manifest_kind(manifest_json(), "", "m"), ManifestKind::manifest);
    EXPECT_EQ(detect_manifest_kind(R"({"schemaVersion":2,"manifests":[]})", "", "i"),
              ManifestKind::index);
    EXPECT_EQ(
        detect_manifest_kind(R"({"schemaVersion":2,"manifests":[]})",
                             "application/vnd.docker.distribution.manifest.list.v2+json", "i"),
        ManifestKind::index);
    EXPECT_THROW(detect_manifest_kind(R"({"mediaType":"application/x-foo"})", "", "f"),
                 InvalidDocument);
}

TEST(Index, ParsesPlatforms) {
    std::string text = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
      "manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
                       kDigest + R"(","size":5,
        "platform":{"architecture":"arm64","os":"linux","variant":"v8"},
        "annotations":{"org.opencontainers.image.ref.name":"latest"}}]})";
    Index index = parse_index(text, "idx");
    ASSERT_EQ(index.manifests.size(), 1u);
    ASSERT_TRUE(index.manifests[0].platform);
    EXPECT_EQ(index.manifests[0].platform->variant, "v8");
    EXPECT_EQ(index.manifests[0].annotations.at("org.opencontainers.image.ref.name"), "latest");
    EXPECT_THROW(parse_index(manifest_json(), "m"), InvalidDocument);
}

TEST(ImageConfig, ParsesDockerAndOciFields) {
    std::string text = R"({"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00Z",
      "config":{"User":"app:app","Env":["A=1"],"Entrypoint":["/bin/sh"],"Cmd":null,
        "ExposedPorts":{"80/tcp":{}},"Volumes":{"/data":{}},"WorkingDir":"/w",
        "Labels":{"k":"v"},"StopSignal":"SIGQUIT"},
      "rootfs":{"type":"layers","diff_ids":[")" +
                       kDigest + R"("]},
      "history":[{"created_by":"x","empty_layer":true}]})";
    ImageConfig c = parse_image_config(text, "cfg");
    EXPECT_EQ(c.config.user, "app:app");
    EXPECT_TRUE(c.config.cmd.empty());
    EXPECT_EQ(c.config.exposed_ports, std::vector<std::string>{"80/tcp"});
    EXPECT_EQ(c.config.volumes, std::vector<std::string>{"/data"});
    EXPECT_EQ(c.config.stop_signal, "SIGQUIT");
    EXPECT_EQ(c.diff_ids.size(), 1u);
    EXPECT_TRUE(c.history[0].empty_layer);
    ImageConfig again = parse_image_config(to_json(c).dump(), "again");
    EXPECT_EQ(again.config.labels.at("k"), "v");
    EXPECT_EQ(
        error_of([] {
            parse_image_config(
                R"({"architecture":"amd64","os":"linux","rootfs":{"type":"x","diff_ids":[]}})",
                "cfg");
        }),
        "cfg: rootfs.type: must be \"layers\", got \"x\"");
}

TEST(MediaTypes, LayerCompression) {
    EXPECT_EQ(layer_compression(media_type::kDockerLayerGzip), Compression::gzip);
    EXPECT_EQ(layer_compression(media_type::kOciLayerZstd), Compression::zstd);
    EXPECT_EQ(layer_compression(media_type::kOciLayer), Compression::none);
    EXPECT_FALSE(layer_compression("application/vnd.oci.image.layer.v1.tar+bzip2"));
}

TEST(DistributionError, DescribesErrorBodies) {
    EXPECT_EQ(describe_distribution_errors(
                  R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})"),
              "MANIFEST_UNKNOWN: manifest unknown");
    EXPECT_EQ(describe_distribution_errors("<html>"), "");
}
