// ECDSA P-256 keys as sigstore/cosign use them: the public key a PEM "PUBLIC KEY"
// (SubjectPublicKeyInfo), signatures ASN.1 DER over SHA-256 of the signed bytes. The private
// key's encrypted file format is in encrypted_key.hpp.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/error.hpp"

using EVP_PKEY = struct evp_pkey_st;

namespace berth::trust {

// A key that is not what berth signs or verifies with (wrong type, wrong curve, bad PEM).
class KeyError : public Error {
  public:
    using Error::Error;
};

struct PkeyFree {
    void operator()(EVP_PKEY* key) const noexcept;
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

class PublicKey {
  public:
    explicit PublicKey(PkeyPtr key) : key_(std::move(key)) {}
    // "-----BEGIN PUBLIC KEY-----" with the DER SubjectPublicKeyInfo.
    [[nodiscard]] std::string pem() const;
    [[nodiscard]] std::string der() const;
    // True when signature (ASN.1 DER) is an ECDSA signature of data by this key.
    [[nodiscard]] bool verify(std::string_view data, std::string_view signature) const;
    [[nodiscard]] EVP_PKEY* get() const { return key_.get(); }

  private:
    PkeyPtr key_;
};

class PrivateKey {
  public:
    explicit PrivateKey(PkeyPtr key) : key_(std::move(key)) {}
    // A new P-256 key from OpenSSL's CSPRNG.
    static PrivateKey generate();
    // The DER PKCS#8 PrivateKeyInfo (what cosign encrypts).
    [[nodiscard]] std::string pkcs8_der() const;
    [[nodiscard]] PublicKey public_key() const;
    // ECDSA over SHA-256 of data; ASN.1 DER.
    [[nodiscard]] std::string sign(std::string_view data) const;
    [[nodiscard]] EVP_PKEY* get() const { return key_.get(); }

  private:
    PkeyPtr key_;
};

// From a DER PKCS#8 PrivateKeyInfo; what names it in errors. Throws KeyError unless it is an
// ECDSA P-256 key.
PrivateKey private_key_from_pkcs8(std::string_view der, const std::string& what);

// From PEM text ("PUBLIC KEY"); throws KeyError naming what for malformed PEM, another label,
// or a key that is not ECDSA P-256.
PublicKey load_public_key(std::string_view pem, const std::string& what);

// A PEM block: its label and decoded bytes. Throws KeyError naming what when there is none.
struct PemBlock {
    std::string label;
    std::string data;
};
PemBlock read_pem(std::string_view text, const std::string& what);
std::string write_pem(std::string_view label, std::string_view data);

// Throws KeyError unless key is ECDSA on P-256 ("what: an ECDSA P-256 key is required, ...").
void require_p256(EVP_PKEY* key, const std::string& what);

}  // namespace berth::trust
