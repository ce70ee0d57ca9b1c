// Registry authentication: WWW-Authenticate challenges (Basic, Bearer), and the token flow
// of the distribution spec: GET realm?service=...&scope=repository:NAME:pull,push with the
// user's credentials (basic) or none, {"token"|"access_token", "expires_in"} back. Tokens
// are cached per scope until shortly before they expire.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "distribution/client/credentials.hpp"
#include "distribution/client/http.hpp"

namespace berth::distribution {

struct Challenge {
    std::string scheme;  // lowercase: "basic", "bearer"
    std::map<std::string, std::string> params;
};

// Parses one or more challenges (RFC 7235 auth-params, quoted strings).
std::vector<Challenge> parse_www_authenticate(std::string_view header);

class Authenticator {
  public:
    Authenticator(HttpClient& http, std::string registry, std::optional<Credentials> credentials,
                  bool verify_tls, std::string ca_file);

    // Learns the scheme from a 401 (ping or any request).
    void challenged(const HttpResponse& response);
    [[nodiscard]] bool has_challenge() const;
    // The Authorization header for scope ("repository:a/b:pull"), empty when anonymous.
    // Throws RegistryError for a refused token request.
    std::string header_for(const std::string& scope);
    // A 401 with a cached token: drop it so the next header_for fetches a new one.
    void invalidate(const std::string& scope);
    [[nodiscard]] bool has_credentials() const { return credentials_.has_value(); }

  private:
    struct Token {
        std::string value;
        std::chrono::steady_clock::time_point expires;
    };
    HttpClient& http_;
    std::string registry_;
    std::optional<Credentials> credentials_;
    bool verify_tls_;
    std::string ca_file_;
    std::mutex mutex_;
    std::optional<Challenge> challenge_;
    std::map<std::string, Token> tokens_;
};

}  // namespace berth::distribution
