// Where sigstore signatures of an image live in a registry, as cosign keeps them:
// - the tag schema: an OCI image at tag "sha256-<hex>.sig" in the image's repository, one
//   layer per signature (media type application/vnd.dev.cosign.simplesigning.v1+json, the
//   payload as the blob, the base64 signature in the layer's
//   "dev.cosignproject.cosign/signature" annotation); skopeo and podman write the same with
//   --sign-by-sigstore-private-key;
// - OCI 1.1 referrers of the image with artifactType
// application/vnd.dev.cosign.artifact.sig.v1+json
//   (cosign's experimental OCI 1.1 mode), one signature per referrer.
#pragma once

#include <string>
#include <vector>

#include "common/digest.hpp"
#include "distribution/client/registry.hpp"

namespace berth::trust {

inline constexpr std::string_view kSignatureArtifactType =
    "application/vnd.dev.cosign.artifact.sig.v1+json";
// Larger payloads or signature manifests are refused before they are downloaded.
inline constexpr int64_t kMaxSignaturePayload = 4 * 1024 * 1024;

// A signature image, layer or referrer that is not what cosign writes.
class SignatureFormatError : public Error {
  public:
    using Error::Error;
};

struct StoredSignature {
    std::string payload;    // the bytes the signature covers (digest checked on download)
    std::string signature;  // base64 of the ASN.1 DER ECDSA signature
    std::string where;      // "registry/repo:sha256-<hex>.sig layer 1", "... referrer sha256:..."
};

enum class SignatureStorage { tag, referrers };

// The tag cosign uses for the signatures of digest.
std::string signature_tag(const Digest& digest);

// Every signature of subject in repo: the .sig tag's layers, then the referrers. Throws
// SignatureFormatError for a signature image or layer of an unexpected media type or size.
std::vector<StoredSignature> fetch_signatures(distribution::Registry& registry,
                                              const std::string& repo, const Digest& subject);

// Stores a signature of subject. With the tag schema, it is appended to the layers already
// at the tag (an identical payload and signature is not added twice).
void store_signature(distribution::Registry& registry, const std::string& repo,
                     const Digest& subject, const std::string& payload,
                     const std::string& signature_base64, SignatureStorage storage);

}  // namespace berth::trust
