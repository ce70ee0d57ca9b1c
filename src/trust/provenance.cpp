#include "trust/provenance.hpp"

#include "image/platform.hpp"
#include "oci/image_index.hpp"
#include "trust/image_signing.hpp"
#include "trust/referrers.hpp"

namespace berth::trust {
namespace {

bool names_subject(const intoto::Statement& statement, const Digest& subject) {
    for (const auto& s : statement.subjects) {
        auto it = s.digest.find(std::string(subject.algorithm_name()));
        if (it != s.digest.end() && it->second == subject.hex()) return true;
    }
    return false;
}

// One referrer's document checked; returns why it is refused, or fills found.
std::string check_document(FoundProvenance& found, bool dsse, const Digest& subject,
                           const PublicKey* key, const std::string& what) {
    try {
        if (dsse) {
            intoto::Envelope envelope = intoto::parse_envelope(found.document, what);
            if (envelope.payload_type != intoto::kStatementMediaType)
                return "the envelope's payloadType is \"" + envelope.payload_type + "\", not " +
                       std::string(intoto::kStatementMediaType);
            found.is_signed = true;
            if (key) {
                if (!intoto::verify_envelope(envelope, *key))
                    return "the DSSE envelope does not verify with the key";
                found.verified = true;
            }
            found.statement_json = envelope.payload;
        } else {
            if (key) return "not signed (an in-toto statement without a DSSE envelope)";
            found.statement_json = found.document;
        }
        found.statement = intoto::parse_statement(found.statement_json, what + " statement");
    } catch (const Error& e) {
        return e.what();
    }
    if (!names_subject(found.statement, subject))
        return "the statement is about " +
               (found.statement.subjects.empty() || found.statement.subjects[0].digest.empty()
                    ? std::string("another artifact")
                    : found.statement.subjects[0].digest.begin()->first + ":" +
                          found.statement.subjects[0].digest.begin()->second) +
               ", not " + subject.str();
    return {};
}

}  // namespace

Digest attach_provenance(distribution::Registry& registry, const std::string& repo,
                         const oci::Descriptor& subject, const intoto::Statement& statement,
                         const PrivateKey* key) {
    if (!names_subject(statement, subject.digest))
        throw Error("provenance for " + registry.name() + "/" + repo + "@" + subject.digest.str() +
                    ": the statement does not name that digest");
    Artifact artifact;
    if (key) {
        artifact.artifact_type = intoto::kDsseMediaType;
        artifact.bytes = intoto::to_json(intoto::sign_statement(statement, *key));
    } else {
        artifact.artifact_type = intoto::kStatementMediaType;
        artifact.bytes = intoto::to_json(statement);
    }
    artifact.media_type = artifact.artifact_type;
    artifact.layer_annotations[std::string(kPredicateTypeAnnotation)] = intoto::kSlsaProvenanceType;
    artifact.annotations[std::string(kPredicateTypeAnnotation)] = intoto::kSlsaProvenanceType;
    return push_referrer(registry, repo, subject, artifact);
}

ProvenanceLookup find_provenance(distribution::Registry& registry, const std::string& repo,
                                 const Digest& subject, const PublicKey* key) {
    ProvenanceLookup out;
    for (bool dsse : {true, false}) {
        std::string type(dsse ? intoto::kDsseMediaType : intoto::kStatementMediaType);
        for (const auto& r : list_referrers(registry, repo, subject, type)) {
            std::string what = registry.name() + "/" + repo + "@" + r.digest.str();
            // A referrer of these types may hold another predicate (an SBOM attestation...):
            // only SLSA provenance is read, and only when the layer says so or says nothing.
            if (r.manifest.layers.size() != 1) {
                out.rejected.push_back(what + ": " + std::to_string(r.manifest.layers.size()) +
                                       " layers, not one");
                continue;
            }
            const oci::Descriptor& layer = r.manifest.layers.front();
            auto predicate = layer.annotations.find(std::string(kPredicateTypeAnnotation));
            if (predicate != layer.annotations.end() &&
                predicate->second != intoto::kSlsaProvenanceType)
                continue;
            FoundProvenance found;
            found.referrer = r.digest;
            found.created = r.created;
            try {
                found.document =
                    fetch_layer(registry, repo, layer, kMaxProvenanceSize, what + " provenance");
            } catch (const Error& e) {
                out.rejected.emplace_back(e.what());
                continue;
            }
            std::string why = check_document(found, dsse, subject, key, what);
            if (why.empty())
                out.accepted.push_back(std::move(found));
            else
                out.rejected.push_back(what + ": " + why);
        }
    }
    return out;
}

Digest attachment_subject(distribution::Registry& registry, const image::Reference& ref) {
    Digest digest = resolve_digest(registry, ref);
    auto fetched = registry.get_manifest(ref.repository, digest.str(), digest);
    if (oci::detect_manifest_kind(fetched.bytes, fetched.media_type, ref.str()) ==
        oci::ManifestKind::index) {
        oci::Index index = oci::parse_index(fetched.bytes, ref.str());
        auto chosen = image::select_manifest(index.manifests, image::host_platform());
        if (!chosen) throw Error(ref.str() + ": the index has no image for this platform");
        return index.manifests[*chosen].digest;
    }
    return digest;
}

}  // namespace berth::trust
