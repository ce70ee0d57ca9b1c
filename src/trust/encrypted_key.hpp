// cosign's encrypted private key file: a PEM block "ENCRYPTED SIGSTORE PRIVATE KEY" (cosign
// 1.x wrote "ENCRYPTED COSIGN PRIVATE KEY"; both are read) whose bytes are the JSON of
// go-securesystemslib's `encrypted` package: the PKCS#8 key sealed with NaCl secretbox
// (XSalsa20-Poly1305, libsodium) under a key derived from the password with scrypt (OpenSSL).
//
//   {"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":"<base64, 32 bytes>"},
//    "cipher":{"name":"nacl/secretbox","nonce":"<base64, 24 bytes>"},
//    "ciphertext":"<base64: 16-byte MAC, then the sealed PKCS#8 DER>"}
#pragma once

#include <string>
#include <string_view>

#include "trust/keys.hpp"

namespace berth::trust {

inline constexpr std::string_view kSigstorePrivateKeyLabel = "ENCRYPTED SIGSTORE PRIVATE KEY";
inline constexpr std::string_view kCosignPrivateKeyLabel = "ENCRYPTED COSIGN PRIVATE KEY";

// The PEM text of key encrypted with password (cosign's scrypt parameters: N=32768, r=8, p=1).
std::string encrypt_private_key(const PrivateKey& key, std::string_view password);

// Decrypts the PEM text; what names the file in errors ("cosign.key: wrong password", "...:
// not an encrypted sigstore private key", "...: an ECDSA P-256 key is required, ...").
PrivateKey decrypt_private_key(std::string_view pem, std::string_view password,
                               const std::string& what);

}  // namespace berth::trust
