// Everything `berth registry serve` can be told, from flags or a TOML file with the same
// names (docs/registry.md lists them). Flags given on the command line win over the file.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace berth::registry {

enum class Action { pull, push, del };

// Who may do what where: user ("*" any authenticated user, "anonymous" nobody in
// particular), repository (exact, or a prefix ending in "*"), actions.
struct AccessRule {
    std::string user = "*";
    std::string repository = "*";
    std::vector<Action> actions;
};

enum class TokenMode { none, builtin, external };

struct AuthConfig {
    std::string htpasswd;  // bcrypt htpasswd file; empty: anonymous access
    bool anonymous_read = false;
    TokenMode token = TokenMode::none;
    std::string token_realm;       // empty: <scheme>://<host>/token of the request
    std::string token_key;         // builtin: RSA private key (PEM), made if absent
    std::string token_public_key;  // external: the issuer's public key or certificate (PEM)
    std::string token_issuer = "berth-registry";
    std::string token_service = "berth-registry";
    std::chrono::seconds token_expiry{300};
    std::vector<AccessRule> access;  // empty: authenticated users may do everything
};

struct ProxyConfig {
    std::string upstream;  // "https://registry-1.docker.io", "http://127.0.0.1:5001"
    std::string username;
    std::string password;
    std::chrono::seconds ttl{300};  // tags are asked upstream again after this long
};

struct RegistryConfig {
    std::string addr = "127.0.0.1:5000";
    std::string root = "/var/lib/berth-registry";
    bool plain_http = false;  // needed for plain HTTP on anything but a loopback address
    std::string tls_cert;
    std::string tls_key;
    bool delete_enabled = true;
    std::chrono::seconds upload_expiry{24 * 3600};
    std::chrono::seconds read_timeout{30};   // a request's head, and each read of its body
    std::chrono::seconds write_timeout{60};  // each write of a response
    std::chrono::seconds shutdown_grace{30};
    uint64_t max_manifest_size = 4 * 1024 * 1024;
    uint64_t max_body_size = 16ULL * 1024 * 1024 * 1024;
    size_t max_connections = 4096;
    unsigned threads = 0;  // 0: one per core
    bool access_log = true;
    AuthConfig auth;
    ProxyConfig proxy;
};

// Reads a TOML file into config (only the keys present change). Throws Error naming the
// file, line and key.
void load_config_file(const std::string& path, RegistryConfig& config);

// "pull" -> Action::pull ...; throws Error on anything else.
Action parse_action(const std::string& text);
std::string_view action_name(Action action);

}  // namespace berth::registry
