// DSSE (Dead Simple Signing Envelope, github.com/secure-systems-lab/dsse): a payload, its
// type and signatures over PAE(type, payload) =
//   "DSSEv1" SP len(type) SP type SP len(payload) SP payload
// signed here with ECDSA P-256 / SHA-256 (the keys of `berth key generate`).
#pragma once

#include <string>
#include <vector>

#include "trust/keys.hpp"

namespace berth::trust::intoto {

inline constexpr std::string_view kDsseMediaType = "application/vnd.dsse.envelope.v1+json";

struct DsseSignature {
    std::string keyid;  // may be empty
    std::string sig;    // raw signature bytes (base64 in JSON)
};

struct Envelope {
    std::string payload_type;
    std::string payload;  // raw bytes (base64 in JSON)
    std::vector<DsseSignature> signatures;
};

std::string pre_authentication_encoding(std::string_view payload_type, std::string_view payload);

Envelope sign_envelope(std::string_view payload_type, std::string payload, const PrivateKey& key,
                       const std::string& keyid = {});

// True when at least one signature verifies with key (keyid ignored: one key is given).
bool verify_envelope(const Envelope& envelope, const PublicKey& key);

std::string to_json(const Envelope& envelope);
// Strict; errors name what.
Envelope parse_envelope(std::string_view json, const std::string& what);

// The key id berth puts in envelopes: sha256 of the public key's DER, hex.
std::string key_id(const PublicKey& key);

}  // namespace berth::trust::intoto
