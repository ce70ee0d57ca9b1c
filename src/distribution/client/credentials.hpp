// Registry credentials in docker's config.json format ({"auths": {"host": {"auth":
// base64("user:password")}}}). `berth login` writes berth's file ($BERTH_AUTH_FILE, the
// settings' [auth] file, else ~/.config/berth/auth.json, mode 0600); lookups read it and
// then docker's ~/.docker/config.json, so a `docker login` is honoured too.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace berth::distribution {

struct Credentials {
    std::string username;
    std::string password;
    std::string identity_token;  // docker's "identitytoken" (an OAuth2 refresh token)
};

class CredentialStore {
  public:
    // path: the file login writes; empty: the default. read_docker: also look in docker's.
    explicit CredentialStore(std::string path = {}, bool read_docker = true);

    [[nodiscard]] std::optional<Credentials> get(const std::string& registry) const;
    void set(const std::string& registry, const Credentials& credentials);
    bool erase(const std::string& registry);  // false when there was nothing
    [[nodiscard]] const std::string& path() const { return path_; }

  private:
    std::string path_;
    bool read_docker_;
};

std::string default_auth_file();
// The keys a registry may be stored under (docker.io has its legacy URL).
std::vector<std::string> credential_keys(const std::string& registry);

}  // namespace berth::distribution
