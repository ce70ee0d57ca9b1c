#include "support/registry.hpp"

#include <signal.h>

#include <openssl/evp.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace berth::test {

std::string sha256_digest(const std::string& data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned i = 0; i < len; ++i) {
        hex += kHex[out[i] >> 4];
        hex += kHex[out[i] & 15];
    }
    return "sha256:" + hex;
}

TestRegistry::TestRegistry(const std::string& user, const std::string& password)
    : dir_("berth-registry") {
    storage_ = dir_.path() + "/data";
    std::string auth;
    if (!user.empty()) {
        auto r = run_command({"htpasswd", "-Bbn", user, password});
        if (r.exit_code != 0) throw std::runtime_error("htpasswd: " + r.describe());
        std::ofstream(dir_.path() + "/htpasswd") << r.out;
        auth =
            "auth:\n  htpasswd:\n    realm: berth-test\n    path: " + dir_.path() + "/htpasswd\n";
    }
    for (int attempt = 0; attempt < 5; ++attempt) {
        port_ = free_port();
        std::ofstream(dir_.path() + "/config.yml")
            << "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\n"
            << "storage:\n  filesystem:\n    rootdirectory: " << storage_
            << "\n  delete:\n    enabled: true\n"
            << "http:\n  addr: 127.0.0.1:" << port_ << "\n"
            << auth;
        CommandOptions options;
        options.output_path = dir_.path() + "/registry.log";
        process_ = std::make_unique<BackgroundCommand>(
            std::vector<std::string>{"docker-registry", "serve", dir_.path() + "/config.yml"},
            options);
        if (wait_for_port(port_, std::chrono::seconds(10))) return;
        process_.reset();
    }
    throw std::runtime_error("docker-registry did not start: " + log());
}

TestRegistry::~TestRegistry() {
    if (process_) {
        process_->signal(SIGTERM);
        if (process_->wait(std::chrono::seconds(5)) < 0) process_->signal(SIGKILL);
        process_.reset();
    }
}

std::string TestRegistry::log() const {
    std::ifstream in(dir_.path() + "/registry.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
}

FakeRegistry::FakeRegistry() : server_([this](const SeenRequest& r) { return handle(r); }) {}

std::string FakeRegistry::add_blob(const std::string& bytes) {
    std::string digest = sha256_digest(bytes);
    std::lock_guard lock(mutex_);
    blobs_[digest] = bytes;
    return digest;
}

void FakeRegistry::add_manifest(const std::string& repo, const std::string& tag,
                                const std::string& bytes, const std::string& media_type) {
    std::lock_guard lock(mutex_);
    manifests_[repo + ":" + tag] = {bytes, media_type};
    manifests_[repo + "@" + sha256_digest(bytes)] = {bytes, media_type};
}

std::string FakeRegistry::add_image(const std::string& repo, const std::string& tag,
                                    const std::vector<std::string>& layer_blobs,
                                    const std::vector<std::string>& uncompressed,
                                    const std::string& layer_media_type) {
    nlohmann::ordered_json config = {
        {"architecture", "amd64"},
        {"os", "linux"},
        {"config", {{"Cmd", {"sh"}}}},
        {"rootfs", {{"type", "layers"}, {"diff_ids", nlohmann::ordered_json::array()}}}};
#if defined(__aarch64__)
    config["architecture"] = "arm64";
#endif
    for (const auto& u : uncompressed)
        config["rootfs"]["diff_ids"].push_back(sha256_digest(u));
    std::string config_bytes = config.dump();
    nlohmann::ordered_json manifest = {{"schemaVersion", 2},
                                       {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                                       {"config",
                                        {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                                         {"digest", add_blob(config_bytes)},
                                         {"size", config_bytes.size()}}},
                                       {"layers", nlohmann::ordered_json::array()}};
    for (const auto& blob : layer_blobs)
        manifest["layers"].push_back(
            {{"mediaType", layer_media_type}, {"digest", add_blob(blob)}, {"size", blob.size()}});
    std::string bytes = manifest.dump();
    add_manifest(repo, tag, bytes, "application/vnd.oci.image.manifest.v1+json");
    return sha256_digest(bytes);
}

void FakeRegistry::require_bearer(const std::string& user, const std::string& password) {
    std::lock_guard lock(mutex_);
    bearer_ = true;
    user_ = user;
    password_ = password;
}

Reply FakeRegistry::handle(const SeenRequest& r) {
    if (intercept) {
        if (auto reply = intercept(r)) return *reply;
    }
    std::lock_guard lock(mutex_);
    if (r.path == "/token") {
        if (!user_.empty()) {
            std::string expected = "Basic ";
            // base64 of user:password, computed with OpenSSL to stay independent of berth.
            std::string plain = user_ + ":" + password_;
            std::string b64(4 * ((plain.size() + 2) / 3) + 1, '\0');
            int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                    reinterpret_cast<const unsigned char*>(plain.data()),
                                    static_cast<int>(plain.size()));
            b64.resize(static_cast<size_t>(n));
            if (r.header("authorization") != expected + b64)
                return {
                    401, {}, R"({"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]})"};
        }
        return {200,
                {{"Content-Type", "application/json"}},
                R"({"token":"good-token","expires_in":300})"};
    }
    if (bearer_ && r.header("authorization") != "Bearer good-token") {
        std::string scope;
        if (r.path.starts_with("/v2/") && r.path.size() > 4) {
            std::string rest = r.path.substr(4);
            size_t cut = rest.find("/manifests/");
            if (cut == std::string::npos) cut = rest.find("/blobs/");
            scope = ",scope=\"repository:" + rest.substr(0, cut) + ":pull\"";
        }
        return {401,
                {{"WWW-Authenticate",
                  "Bearer realm=\"http://" + server_.host() + "/token\",service=\"fake\"" + scope},
                 {"Content-Type", "application/json"}},
                R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})"};
    }
    if (r.path == "/v2/" || r.path == "/v2") return {200, {}, "{}"};
    auto not_found = [](const std::string& code) {
        return Reply{404,
                     {{"Content-Type", "application/json"}},
                     R"({"errors":[{"code":")" + code + R"(","message":"not found"}]})"};
    };
    if (size_t m = r.path.find("/manifests/"); m != std::string::npos) {
        std::string repo = r.path.substr(4, m - 4);
        std::string ref = r.path.substr(m + 11);
        std::string key = repo + (ref.find(':') == std::string::npos ? ":" : "@") + ref;
        auto it = manifests_.find(key);
        if (it == manifests_.end()) return not_found("MANIFEST_UNKNOWN");
        return {200,
                {{"Content-Type", it->second.media_type},
                 {"Docker-Content-Digest", sha256_digest(it->second.bytes)}},
                it->second.bytes};
    }
    if (size_t b = r.path.find("/blobs/"); b != std::string::npos) {
        std::string digest = r.path.substr(b + 7);
        auto it = blobs_.find(digest);
        if (it == blobs_.end()) return not_found("BLOB_UNKNOWN");
        std::string range = r.header("range");
        if (!range.empty() && range.starts_with("bytes=")) {
            size_t from = std::stoul(range.substr(6));
            if (from >= it->second.size()) return {416, {}, ""};
            return {206,
                    {{"Content-Range", "bytes " + std::to_string(from) + "-" +
                                           std::to_string(it->second.size() - 1) + "/" +
                                           std::to_string(it->second.size())}},
                    it->second.substr(from)};
        }
        return {200, {{"Content-Type", "application/octet-stream"}}, it->second};
    }
    return not_found("NAME_UNKNOWN");
}

}  // namespace berth::test
