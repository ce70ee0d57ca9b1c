// containers-policy.json(5): which images may be pulled. berth evaluates the "docker"
// transport (registries); the other transports' sections are checked for shape and not used.
//
//   {"default": [REQUIREMENT...],
//    "transports": {"docker": {SCOPE: [REQUIREMENT...], ...}, ...}}
//
// A reference gets the requirements of its most specific scope: the reference itself
// (registry/repo:tag or @digest), its repository, each enclosing namespace, its registry
// (host[:port]), wildcard hosts ("*.example.com"), the transport's "" scope, then "default".
// Every requirement in the list must be satisfied:
//   insecureAcceptAnything | reject | sigstoreSigned {keyPath|keyData, signedIdentity}
// signedBy (GPG) and sigstoreSigned with fulcio are read, and refuse the images they apply to
// ("GPG signatures are not supported").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "image/reference.hpp"
#include "trust/signed_identity.hpp"

namespace berth::trust {

// A policy file that cannot be used (one line naming the file and the field).
class PolicyError : public Error {
  public:
    using Error::Error;
};

struct PolicyRequirement {
    enum class Type { insecure_accept_anything, reject, signed_by, sigstore_signed };
    Type type = Type::reject;
    // sigstoreSigned: keyPath/keyPaths (absolute) and keyData/keyDatas (the PEMs, decoded
    // from base64); a signature by any of them satisfies the requirement.
    std::vector<std::string> key_paths;
    std::vector<std::string> key_datas;
    bool fulcio = false;  // keyless: not supported
    SignedIdentity identity;
    std::string field;  // where it is in the file: transports.docker["scope"][0]
};

struct PolicyScope {
    std::string scope;  // "default", or `docker: ""`, or the scope's text
    const std::vector<PolicyRequirement>* requirements = nullptr;
};

class Policy {
  public:
    // Parses text; errors name source and the field (PolicyError).
    static Policy parse(const std::string& text, const std::string& source);
    static Policy load(const std::string& path);
    // Accepts everything (no policy file anywhere).
    static Policy accept_anything(const std::string& source = "built-in default");

    [[nodiscard]] const std::string& source() const { return source_; }
    [[nodiscard]] PolicyScope scope_for(const image::Reference& ref) const;

  private:
    std::string source_;
    std::vector<PolicyRequirement> default_;
    std::vector<std::pair<std::string, std::vector<PolicyRequirement>>> docker_;
};

// The scope names tried for ref, most specific first (without "" and "default").
std::vector<std::string> docker_scope_candidates(const image::Reference& ref);

// Checks a docker transport scope's syntax; throws a message naming why.
void validate_docker_scope(const std::string& scope);

}  // namespace berth::trust
