// Build provenance attached to an image in a registry: an in-toto Statement with a SLSA v1
// provenance predicate (intoto/statement.hpp), pushed as an OCI 1.1 referrer of the image's
// manifest, as a DSSE envelope when it is signed. `berth build --provenance [--sign-key KEY]`
// attaches it with attach_provenance; `berth inspect --provenance [--key PUB] IMAGE` reads
// it back with find_provenance.
//
// Media types, as BuildKit and cosign name them: an unsigned statement is a layer of type
// application/vnd.in-toto+json (artifactType the same); a signed one is a DSSE envelope,
// application/vnd.dsse.envelope.v1+json, whose payloadType is application/vnd.in-toto+json.
// The layer carries the predicate type in the annotation in-toto.io/predicate-type.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "distribution/client/registry.hpp"
#include "oci/descriptor.hpp"
#include "trust/intoto/statement.hpp"
#include "trust/keys.hpp"

namespace berth::trust {

inline constexpr std::string_view kPredicateTypeAnnotation = "in-toto.io/predicate-type";
// A provenance document above this size is refused from its descriptor.
inline constexpr int64_t kMaxProvenanceSize = 4 << 20;

// Pushes statement as a referrer of subject (signed as a DSSE envelope when key is given);
// returns the referrer manifest's digest. The statement must name subject's digest.
Digest attach_provenance(distribution::Registry& registry, const std::string& repo,
                         const oci::Descriptor& subject, const intoto::Statement& statement,
                         const PrivateKey* key);

struct FoundProvenance {
    Digest referrer;       // the referrer manifest
    std::string created;   // its org.opencontainers.image.created, when set
    std::string document;  // the stored bytes: the statement, or the DSSE envelope
    intoto::Statement statement;
    std::string statement_json;  // the statement's exact bytes (the signed payload)
    bool is_signed = false;      // a DSSE envelope
    bool verified = false;       // its signature verified with the key given
};

struct ProvenanceLookup {
    std::vector<FoundProvenance> accepted;
    std::vector<std::string> rejected;  // one line each: "sha256:...: why"
};

// The provenance attached to subject in repo. Each document must be a statement (or a DSSE
// envelope of one) whose subjects include subject's digest. With key, only DSSE envelopes
// with a signature by key are accepted; an unsigned statement is rejected.
ProvenanceLookup find_provenance(distribution::Registry& registry, const std::string& repo,
                                 const Digest& subject, const PublicKey* key);

// The manifest a reference's provenance (or SBOM) is attached to: the digest ref resolves to,
// or, for an index, the manifest of this platform.
Digest attachment_subject(distribution::Registry& registry, const image::Reference& ref);

}  // namespace berth::trust
