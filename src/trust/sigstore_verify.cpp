#include "trust/sigstore_verify.hpp"

#include <algorithm>

#include "distribution/client/http.hpp"

namespace berth::trust {

std::string Verification::why_rejected() const {
    if (rejected.empty()) return "no signature";
    std::string text;
    size_t shown = std::min<size_t>(rejected.size(), 3);
    for (size_t i = 0; i < shown; ++i)
        text += (i ? "; " : "") + rejected[i];
    if (rejected.size() > shown)
        text += "; and " + std::to_string(rejected.size() - shown) + " more";
    return text;
}

Verification verify_signatures(const std::vector<StoredSignature>& signatures, const PublicKey& key,
                               const image::Reference& image, const std::vector<Digest>& digests,
                               const SignedIdentity& identity) {
    Verification result;
    for (const auto& s : signatures) {
        auto raw = distribution::base64_decode(s.signature);
        if (!raw || raw->empty()) {
            result.rejected.push_back(s.where + ": the signature annotation is not base64");
            continue;
        }
        if (!key.verify(s.payload, *raw)) {
            result.rejected.push_back(
                s.where +
                ": the signature does not verify with the key (another key signed it, or the "
                "payload was altered)");
            continue;
        }
        SimpleSigningPayload payload;
        try {
            payload = parse_payload(s.payload, s.where);
        } catch (const Error& e) {
            result.rejected.push_back(std::string("signed payload is invalid: ") + e.what());
            continue;
        }
        if (std::find(digests.begin(), digests.end(), payload.manifest_digest) == digests.end()) {
            result.rejected.push_back(s.where + ": signs manifest " +
                                      payload.manifest_digest.str() + ", not " +
                                      digests.front().str());
            continue;
        }
        image::Reference signed_ref;
        try {
            signed_ref = parse_signed_reference(payload.docker_reference);
        } catch (const Error& e) {
            result.rejected.push_back(s.where + ": signed identity \"" + payload.docker_reference +
                                      "\" is not a reference: " + e.what());
            continue;
        }
        if (!identity.matches(image, signed_ref)) {
            result.rejected.push_back(s.where + ": identity mismatch: signed for " +
                                      payload.docker_reference + ", which does not match " +
                                      image.str() + " (" + identity.describe() + ")");
            continue;
        }
        result.accepted.push_back({std::move(payload), s.payload, s.where});
    }
    return result;
}

}  // namespace berth::trust
