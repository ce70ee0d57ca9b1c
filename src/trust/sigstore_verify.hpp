// Checks stored sigstore signatures of an image against a public key: the ECDSA signature
// over the payload's exact bytes, then the payload's manifest digest, then its identity.
#pragma once

#include <string>
#include <vector>

#include "image/reference.hpp"
#include "trust/keys.hpp"
#include "trust/signature_store.hpp"
#include "trust/signed_identity.hpp"
#include "trust/simple_signing.hpp"

namespace berth::trust {

struct VerifiedSignature {
    SimpleSigningPayload payload;
    std::string payload_bytes;
    std::string where;
};

struct Verification {
    std::vector<VerifiedSignature> accepted;
    std::vector<std::string> rejected;  // one reason per signature that failed
    // "no signature", or the reasons, as one line.
    [[nodiscard]] std::string why_rejected() const;
};

// digests: the manifest digests a payload may name (the reference's manifest, and for an
// index the platform's manifest).
Verification verify_signatures(const std::vector<StoredSignature>& signatures, const PublicKey& key,
                               const image::Reference& image, const std::vector<Digest>& digests,
                               const SignedIdentity& identity);

}  // namespace berth::trust
