// The signature policy applied to an image about to be pulled: the requirements of its scope
// in policy.json, with signatures looked up where registries.d says. This is the check that
// pull, run/create (when they pull), build's FROM and kube play share, through
// trust/policy_pull.hpp.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "distribution/client/registry.hpp"
#include "image/reference.hpp"
#include "image/settings.hpp"
#include "trust/policy.hpp"
#include "trust/registries_d.hpp"
#include "trust/sigstore_verify.hpp"

namespace berth::trust {

// The policy refused an image: "IMAGE: rejected by POLICY (scope S): why".
class PolicyRejected : public Error {
  public:
    using Error::Error;
};

// Where the policy and registries.d come from.
struct TrustLocations {
    // First of: this, settings' [trust] signature-policy, ~/.config/containers/policy.json,
    // /etc/containers/policy.json; none of them: accept anything.
    std::string signature_policy;
    std::string registries_d;  // else settings', else ~/.config/containers/registries.d when
                               // it exists, else /etc/containers/registries.d
};

class PolicyEnforcer {
  public:
    PolicyEnforcer(Policy policy, RegistriesD registries);
    // Reads the files named by locations and settings (PolicyError for a bad file).
    static PolicyEnforcer load(const image::Settings& settings,
                               const TrustLocations& locations = {});

    [[nodiscard]] const Policy& policy() const { return policy_; }
    [[nodiscard]] const RegistriesD& registries() const { return registries_; }

    // True when the requirements of ref's scope accept anything (no signature is fetched).
    [[nodiscard]] bool accepts_anything(const image::Reference& ref) const;

    // Checks the image ref resolved to (manifest: what the reference names; instance: the
    // platform's manifest when that is an index). Throws PolicyRejected. Returns the
    // signatures that satisfied sigstoreSigned requirements (empty when none applied).
    std::vector<VerifiedSignature> check(distribution::Registry& registry,
                                         const image::Reference& ref, const Digest& manifest,
                                         const std::optional<Digest>& instance) const;

  private:
    const std::vector<PublicKey>& keys_for(const PolicyRequirement& requirement) const;

    Policy policy_;
    RegistriesD registries_;
    mutable std::map<std::string, std::vector<PublicKey>> keys_;  // by requirement field
};

}  // namespace berth::trust
