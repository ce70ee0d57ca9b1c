// in-toto Statement v1 (github.com/in-toto/attestation) with a SLSA Provenance v1 predicate
// (slsa.dev/provenance/v1): what `berth build --provenance` attaches to an image it built,
// as a referrer (artifactType application/vnd.in-toto+json), or wrapped in a DSSE envelope
// signed with --sign-key (application/vnd.dsse.envelope.v1+json).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/digest.hpp"
#include "trust/intoto/dsse.hpp"

namespace berth::trust::intoto {

inline constexpr std::string_view kStatementType = "https://in-toto.io/Statement/v1";
inline constexpr std::string_view kStatementMediaType = "application/vnd.in-toto+json";
inline constexpr std::string_view kSlsaProvenanceType = "https://slsa.dev/provenance/v1";
inline constexpr std::string_view kBerthBuildType = "https://berth.dev/build/v1";
inline constexpr std::string_view kBerthBuilderId = "https://berth.dev/berth";

// A subject or material: a name (or URI) and its digests.
struct ResourceDescriptor {
    std::string name;  // the subject's name
    std::string uri;   // a material's URI ("docker-image://registry/repo@sha256:...")
    std::map<std::string, std::string> digest;  // algorithm -> hex
    nlohmann::ordered_json annotations;         // optional
};

ResourceDescriptor descriptor_of(const std::string& name_or_uri, const Digest& digest,
                                 bool is_material);

struct SlsaProvenance {
    std::string build_type = std::string(kBerthBuildType);
    std::string builder_id = std::string(kBerthBuilderId);
    std::string builder_version;
    // externalParameters: what the user chose.
    std::string containerfile;    // its path in the context
    Digest containerfile_digest;  // of its bytes
    std::map<std::string, std::string> build_args;
    std::string target;  // the stage, when one was chosen
    std::vector<std::string> platforms;
    // internalParameters: what berth chose (free-form).
    nlohmann::ordered_json internal_parameters = nlohmann::ordered_json::object();
    // resolvedDependencies: base images (by digest) and other materials.
    std::vector<ResourceDescriptor> materials;
    std::string invocation_id;
    std::string started_on, finished_on;  // RFC 3339 (SOURCE_DATE_EPOCH when set)
};

struct Statement {
    std::vector<ResourceDescriptor> subjects;  // the built image(s): name + sha256
    SlsaProvenance provenance;
};

// The statement as JSON (compact: the bytes DSSE signs).
std::string to_json(const Statement& statement);
// Strict about the statement's frame (_type, subject, predicateType); the predicate is
// read back field by field. Errors name what.
Statement parse_statement(std::string_view json, const std::string& what);

// The statement signed as a DSSE envelope (payloadType application/vnd.in-toto+json).
Envelope sign_statement(const Statement& statement, const PrivateKey& key);

// Start/end times for a build: SOURCE_DATE_EPOCH when set (reproducible), else now.
std::string provenance_time();

}  // namespace berth::trust::intoto
