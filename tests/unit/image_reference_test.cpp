// References, platforms and the TOML settings.
#include <gtest/gtest.h>

#include "image/platform.hpp"
#include "image/reference.hpp"
#include "image/settings.hpp"

using namespace berth;
using namespace berth::image;

TEST(Reference, NormalizesShortNames) {
    Reference r = parse_normalized("busybox");
    EXPECT_EQ(r.str(), "docker.io/library/busybox:latest");
    EXPECT_EQ(r.endpoint_host(), "registry-1.docker.io");
    EXPECT_EQ(parse_normalized("user/app:1.0").str(), "docker.io/user/app:1.0");
    EXPECT_TRUE(parse_reference("busybox").short_name);
    EXPECT_FALSE(parse_reference("localhost/busybox").short_name);
}

TEST(Reference, RegistriesWithPortsAndNestedNamespaces) {
    Reference r = parse_normalized("localhost:5000/a/b/c:tag");
    EXPECT_EQ(r.registry, "localhost:5000");
    EXPECT_EQ(r.repository, "a/b/c");
    EXPECT_EQ(r.tag, "tag");
    EXPECT_EQ(parse_normalized("[::1]:5000/x").registry, "[::1]:5000");
    EXPECT_EQ(parse_normalized("127.0.0.1:5000/x").registry, "127.0.0.1:5000");
    EXPECT_EQ(parse_normalized("quay.io/org/app").str(), "quay.io/org/app:latest");
    EXPECT_EQ(parse_normalized("index.docker.io/library/busybox").registry, "docker.io");
}

TEST(Reference, TagAndDigest) {
    std::string digest = "sha256:" + std::string(64, 'b');
    Reference r = parse_normalized("reg.io/app:1@" + digest);
    EXPECT_EQ(r.tag, "1");
    ASSERT_TRUE(r.digest);
    EXPECT_EQ(r.manifest_reference(), digest);
    Reference d = parse_normalized("reg.io/app@" + digest);
    EXPECT_TRUE(d.tag.empty());
    EXPECT_EQ(d.str(), "reg.io/app@" + digest);
}

TEST(Reference, InvalidOnesSayWhy) {
    auto why = [](const std::string& text) {
        try {
            parse_reference(text);
        } catch (const InvalidReference& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    EXPECT_EQ(why("Busybox"), "invalid reference \"Busybox\": repository names must be lowercase");
    EXPECT_NE(why("busybox:-bad").find("tag \"-bad\""), std::string::npos);
    EXPECT_NE(why("a//b").find("invalid repository name component"), std::string::npos);
    EXPECT_NE(why("busybox@sha256:xyz").find("invalid digest"), std::string::npos);
    EXPECT_NE(why("").find("empty"), std::string::npos);
    EXPECT_NE(why("reg.io:abc/x").find("invalid registry"), std::string::npos);
    EXPECT_NE(why("x/" + std::string(300, 'a')).find("longer than 255"), std::string::npos);
    EXPECT_NE(why("a__-b").find("invalid repository name component"), std::string::npos);
    // 64 hex digits are an image ID: refused as a name, in docker's words; with a tag or a
    // registry they are a name (as docker parses them too).
    const std::string id(64, 'a');
    EXPECT_EQ(why(id),
              "invalid repository name (" + id + "), cannot specify 64-byte hexadecimal strings");
    EXPECT_EQ(why(id + ":latest"), "");
    EXPECT_EQ(why("localhost/" + id), "");
    EXPECT_EQ(why(std::string(63, 'a')), "");
    EXPECT_NE(why(std::string(64, 'A')).find("lowercase"), std::string::npos);
}

TEST(Reference, Loopback) {
    EXPECT_TRUE(is_loopback_registry("localhost:5000"));
    EXPECT_TRUE(is_loopback_registry("127.0.0.1:40000"));
    EXPECT_TRUE(is_loopback_registry("[::1]:5000"));
    EXPECT_FALSE(is_loopback_registry("registry.example.com"));
}

TEST(Platform, ParsesAndMatches) {
    EXPECT_EQ(to_string(parse_platform_spec("linux/aarch64")), "linux/arm64");
    EXPECT_EQ(to_string(parse_platform_spec("linux/arm")), "linux/arm/v7");
    EXPECT_EQ(to_string(parse_platform_spec("x86_64")), "linux/amd64");
    EXPECT_THROW(parse_platform_spec("a/b/c/d"), Error);
    std::vector<oci::Descriptor> manifests(3);
    manifests[0].platform = oci::Platform{"arm", "linux", "", {}, "v6"};
    manifests[1].platform = oci::Platform{"arm", "linux", "", {}, "v7"};
    manifests[2].platform = oci::Platform{"amd64", "linux", "", {}, ""};
    EXPECT_EQ(select_manifest(manifests, parse_platform_spec("linux/arm/v7")), 1u);
    EXPECT_EQ(select_manifest(manifests, parse_platform_spec("linux/amd64")), 2u);
    EXPECT_FALSE(select_manifest(manifests, parse_platform_spec("linux/s390x")));
    EXPECT_FALSE(host_platform().architecture.empty());
}

TEST(Settings, ParsesTomlAndResolvesShortNames) {
    Settings s = parse_settings(R"(
[registries]
default = "registry.lan:5000"
short-names = "search"
search = ["registry.lan:5000", "quay.io"]
insecure = ["registry.lan:5000"]
[aliases]
"tools" = "quay.io/team/tools"
[pull]
max-concurrent-downloads = 8
)",
                                "test.toml");
    EXPECT_TRUE(s.is_insecure("registry.lan:5000"));
    EXPECT_TRUE(s.is_insecure("localhost:1"));
    EXPECT_FALSE(s.is_insecure("quay.io"));
    EXPECT_EQ(s.max_concurrent_downloads, 8);
    auto c = s.candidates("app:1");
    ASSERT_EQ(c.size(), 2u);
    EXPECT_EQ(c[0].str(), "registry.lan:5000/app:1");
    EXPECT_EQ(c[1].str(), "quay.io/app:1");
    EXPECT_EQ(s.resolve("tools:2").str(), "quay.io/team/tools:2");
    EXPECT_EQ(s.resolve("docker.io/x/y").str(), "docker.io/x/y");
}

TEST(Settings, RejectModeAndErrors) {
    Settings s = parse_settings("[registries]\nshort-names = \"reject\"\n", "r.toml");
    EXPECT_THROW(s.resolve("busybox"), InvalidReference);
    EXPECT_NO_THROW(s.resolve("docker.io/library/busybox"));
    try {
        parse_settings("[registries]\nfoo = 1\n", "bad.toml");
        FAIL();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "bad.toml: registries.foo: unknown key");
    }
    try {
        parse_settings("[registries\n", "syntax.toml");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()).substr(0, 14), "syntax.toml:1:");
    }
}
