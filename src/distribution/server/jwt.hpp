// JSON Web Tokens as the docker token protocol uses them: RS256 (and ES256 for verifying
// tokens of external issuers), compact serialisation, OpenSSL for the signatures.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/error.hpp"

struct evp_pkey_st;

namespace berth::registry {

class InvalidToken : public Error {
  public:
    using Error::Error;
};

struct KeyDeleter {
    void operator()(evp_pkey_st* key) const;
};
using KeyPtr = std::unique_ptr<evp_pkey_st, KeyDeleter>;

// Signs with an RSA private key read from a PEM file, made (2048 bits, mode 0600) when the
// file does not exist yet.
class TokenSigner {
  public:
    explicit TokenSigner(const std::string& private_key_path);
    [[nodiscard]] std::string sign(const nlohmann::json& claims) const;
    [[nodiscard]] std::string public_key_pem() const;
    [[nodiscard]] evp_pkey_st* key() const { return key_.get(); }

  private:
    KeyPtr key_;
    std::string key_id_;
};

// Checks the signature with any of the keys, then exp/nbf; returns the claims.
class TokenVerifier {
  public:
    TokenVerifier() = default;
    void add_key(KeyPtr key);
    // A PEM public key or certificate.
    void add_key_file(const std::string& path);
    [[nodiscard]] nlohmann::json verify(const std::string& token) const;
    [[nodiscard]] bool empty() const { return keys_.empty(); }

  private:
    std::vector<KeyPtr> keys_;
};

std::string base64url_encode(std::string_view data);
std::string base64url_decode(std::string_view text);  // throws InvalidToken

}  // namespace berth::registry
