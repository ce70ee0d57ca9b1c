// Registries for the image tests: Debian's docker-registry (CNCF Distribution) started on
// 127.0.0.1 with a temp storage dir, with or without htpasswd auth; and a fake registry
// (support/http_server.hpp) serving what a test puts in it, with hooks to misbehave.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "support/command.hpp"
#include "support/fixture.hpp"
#include "support/http_server.hpp"

namespace berth::test {

class TestRegistry {
  public:
    // user/password: htpasswd auth (bcrypt, made with `htpasswd -B`); empty: none.
    explicit TestRegistry(const std::string& user = {}, const std::string& password = {});
    ~TestRegistry();
    TestRegistry(const TestRegistry&) = delete;
    TestRegistry& operator=(const TestRegistry&) = delete;

    [[nodiscard]] std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
    [[nodiscard]] const std::string& storage() const { return storage_; }
    [[nodiscard]] std::string log() const;

  private:
    TempDir dir_;
    std::string storage_;
    int port_ = 0;
    std::unique_ptr<BackgroundCommand> process_;
};

// sha256:<hex> of data.
std::string sha256_digest(const std::string& data);

class FakeRegistry {
  public:
    FakeRegistry();
    [[nodiscard]] std::string host() const { return server_.host(); }
    HttpServer& server() { return server_; }

    // Content served to any repository.
    std::string add_blob(const std::string& bytes);
    void add_manifest(const std::string& repo, const std::string& tag, const std::string& bytes,
                      const std::string& media_type);
    // An OCI image of these layers (blobs as given, diff IDs of the uncompressed tars);
    // returns the manifest digest. layer_media_type applies to every layer.
    std::string add_image(
        const std::string& repo, const std::string& tag,
        const std::vector<std::string>& layer_blobs, const std::vector<std::string>& uncompressed,
        const std::string& layer_media_type = "application/vnd.oci.image.layer.v1.tar+gzip");

    // Runs before the normal handling; a reply replaces it.
    std::function<std::optional<Reply>(const SeenRequest&)> intercept;
    // Bearer auth: requests need "Bearer <token>" from /token, which wants user:password
    // (basic) when set, else gives tokens to anyone.
    void require_bearer(const std::string& user = {}, const std::string& password = {});

  private:
    Reply handle(const SeenRequest& r);
    std::mutex mutex_;
    std::map<std::string, std::string> blobs_;  // digest -> bytes
    struct Manifest {
        std::string bytes, media_type;
    };
    std::map<std::string, Manifest> manifests_;  // "repo:tag" and "repo@digest"
    bool bearer_ = false;
    std::string user_, password_;
    HttpServer server_;
};

}  // namespace berth::test
