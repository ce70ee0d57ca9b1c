// The registry client's pieces that need no network: challenges, base64, credentials.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "distribution/client/auth.hpp"
#include "distribution/client/credentials.hpp"
#include "distribution/client/http.hpp"

namespace fs = std::filesystem;
using namespace berth;
using namespace berth::distribution;

TEST(Challenge, ParsesBearerAndBasic) {
    auto c = parse_www_authenticate(
        R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")");
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].scheme, "bearer");
    EXPECT_EQ(c[0].params["realm"], "https://auth.docker.io/token");
    EXPECT_EQ(c[0].params["service"], "registry.docker.io");
    EXPECT_EQ(c[0].params["scope"], "repository:library/busybox:pull");
    auto two = parse_www_authenticate(R"(Basic realm="x y", Bearer realm=r,error="invalid_token")");
    ASSERT_EQ(two.size(), 2u);
    EXPECT_EQ(two[0].scheme, "basic");
    EXPECT_EQ(two[0].params["realm"], "x y");
    EXPECT_EQ(two[1].params["realm"], "r");
    EXPECT_EQ(two[1].params["error"], "invalid_token");
}

TEST(Base64, RoundTrips) {
    EXPECT_EQ(base64_encode("tester:secret-pw"), "dGVzdGVyOnNlY3JldC1wdw==");
    EXPECT_EQ(base64_encode(""), "");
    EXPECT_EQ(base64_encode("a"), "YQ==");
    EXPECT_EQ(base64_encode("ab"), "YWI=");
    for (std::string s : {"", "a", "ab", "abc", "user:p@ss:w0rd"})
        EXPECT_EQ(base64_decode(base64_encode(s)), s);
    EXPECT_FALSE(base64_decode("***"));
    EXPECT_EQ(url_escape("repository:a/b:pull"), "repository%3Aa%2Fb%3Apull");
}

TEST(Credentials, StoresLikeDockerAndReadsDockers) {
    char tmpl[] = "/tmp/berth-creds-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    std::string dir = tmpl;
    std::string ours = dir + "/berth/auth.json";
    CredentialStore store(ours, false);
    EXPECT_FALSE(store.get("registry.example:5000"));
    store.set("registry.example:5000", {"user", "pass", ""});
    store.set("docker.io", {"hub", "token", ""});
    auto doc = nlohmann::json::parse(std::ifstream(ours));
    EXPECT_EQ(doc["auths"]["registry.example:5000"]["auth"], "dXNlcjpwYXNz");
    EXPECT_TRUE(doc["auths"].contains("https://index.docker.io/v1/"));
    struct stat st {};
    ASSERT_EQ(::stat(ours.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    auto got = store.get("registry.example:5000");
    ASSERT_TRUE(got);
    EXPECT_EQ(got->username, "user");
    EXPECT_EQ(got->password, "pass");
    EXPECT_EQ(store.get("index.docker.io")->username, "hub");
    EXPECT_TRUE(store.erase("registry.example:5000"));
    EXPECT_FALSE(store.erase("registry.example:5000"));
    EXPECT_FALSE(store.get("registry.example:5000"));

    // docker's own file is read too.
    fs::create_directories(dir + "/docker");
    std::ofstream(dir + "/docker/config.json")
        << R"({"auths":{"https://other.example":{"auth":")" << base64_encode("d:p") << R"("}}})";
    ::setenv("DOCKER_CONFIG", (dir + "/docker").c_str(), 1);
    CredentialStore with_docker(ours, true);
    auto from_docker = with_docker.get("other.example");
    ::unsetenv("DOCKER_CONFIG");
    ASSERT_TRUE(from_docker);
    EXPECT_EQ(from_docker->username, "d");
    std::ofstream(ours) << R"({"auths":{"bad.example":{"auth":"bm9jb2xvbg=="}}})";
    EXPECT_THROW(store.get("bad.example"), Error);
    fs::remove_all(dir);
}
