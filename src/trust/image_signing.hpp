// `berth sign` and `berth verify` over a registry: the manifest digest a reference resolves
// to is signed (simple signing payload, ECDSA P-256) and stored as cosign stores it, or the
// stored signatures are checked against a public key.
#pragma once

#include <map>
#include <string>

#include "distribution/client/registry.hpp"
#include "image/reference.hpp"
#include "trust/keys.hpp"
#include "trust/signature_store.hpp"
#include "trust/sigstore_verify.hpp"

namespace berth::trust {

// The manifest digest ref names in the registry (its digest, or what its tag points at).
Digest resolve_digest(distribution::Registry& registry, const image::Reference& ref);

struct SignOptions {
    SignatureStorage storage = SignatureStorage::tag;
    std::map<std::string, std::string> annotations;  // the payload's "optional"
};

struct SignResult {
    Digest digest;
    std::string docker_reference;
    std::string payload;
};

// The identity signed is the reference as given: registry/repo:tag when signed by tag (what
// skopeo and podman sign, and what policy.json's default matchRepoDigestOrExact expects of a
// pull by tag), registry/repo when signed by digest (as cosign signs).
SignResult sign_image(distribution::Registry& registry, const image::Reference& ref,
                      const PrivateKey& key, const SignOptions& options);

// --identity REF: a reference with a tag or digest must be signed exactly; a repository,
// as that repository. Without it, the signature must name ref's repository.
SignedIdentity identity_for_verify(const std::string& identity);

Verification verify_image(distribution::Registry& registry, const image::Reference& ref,
                          const PublicKey& key, const SignedIdentity& identity);

}  // namespace berth::trust
