#include "trust/policy_check.hpp"

#include <unistd.h>

#include <cstdlib>

#include "common/file.hpp"

namespace berth::trust {
namespace {

std::string home_config(const std::string& leaf) {
    const char* home = std::getenv("HOME");
    if (!home || !*home) return {};
    return std::string(home) + "/.config/containers/" + leaf;
}

bool file_exists(const std::string& path) {
    return !path.empty() && ::access(path.c_str(), F_OK) == 0;
}

}  // namespace

PolicyEnforcer::PolicyEnforcer(Policy policy, RegistriesD registries)
    : policy_(std::move(policy)), registries_(std::move(registries)) {}

PolicyEnforcer PolicyEnforcer::load(const image::Settings& settings,
                                    const TrustLocations& locations) {
    std::string policy_path = locations.signature_policy;
    if (policy_path.empty()) policy_path = settings.signature_policy;
    Policy policy = Policy::accept_anything("no policy file");
    if (!policy_path.empty()) {
        policy = Policy::load(policy_path);
    } else if (std::string user = home_config("policy.json"); file_exists(user)) {
        policy = Policy::load(user);
    } else if (file_exists("/etc/containers/policy.json")) {
        policy = Policy::load("/etc/containers/policy.json");
    }
    std::string dir = locations.registries_d;
    if (dir.empty()) dir = settings.registries_d;
    if (dir.empty()) {
        std::string user = home_config("registries.d");
        dir = file_exists(user) ? user : "/etc/containers/registries.d";
    }
    RegistriesD registries;
    try {
        registries = RegistriesD::load(dir);
    } catch (const Error& e) {
        throw PolicyError(std::string("registries.d: ") + e.what());
    }
    return {std::move(policy), std::move(registries)};
}

bool PolicyEnforcer::accepts_anything(const image::Reference& ref) const {
    PolicyScope scope = policy_.scope_for(ref);
    for (const auto& r : *scope.requirements)
        if (r.type != PolicyRequirement::Type::insecure_accept_anything) return false;
    return true;
}

const std::vector<PublicKey>& PolicyEnforcer::keys_for(const PolicyRequirement& requirement) const {
    auto it = keys_.find(requirement.field);
    if (it != keys_.end()) return it->second;
    std::string what = policy_.source() + ": " + requirement.field;
    std::vector<PublicKey> keys;
    for (const auto& path : requirement.key_paths) {
        std::string pem;
        try {
            pem = read_file(path);
        } catch (const Error& e) {
            throw PolicyError(what + ": keyPath: " + e.what());
        }
        keys.push_back(load_public_key(pem, path));
    }
    for (const auto& data : requirement.key_datas)
        keys.push_back(load_public_key(data, what + ".keyData"));
    return keys_.emplace(requirement.field, std::move(keys)).first->second;
}

std::vector<VerifiedSignature> PolicyEnforcer::check(distribution::Registry& registry,
                                                     const image::Reference& ref,
                                                     const Digest& manifest,
                                                     const std::optional<Digest>& instance) const {
    PolicyScope scope = policy_.scope_for(ref);
    auto reject = [&](const std::string& why) {
        throw PolicyRejected(ref.str() + ": rejected by the signature policy " + policy_.source() +
                             " (scope " + scope.scope + "): " + why);
    };
    std::vector<VerifiedSignature> verified;
    std::optional<std::vector<StoredSignature>> signatures;  // fetched once, when needed
    for (const auto& requirement : *scope.requirements) {
        switch (requirement.type) {
            case PolicyRequirement::Type::insecure_accept_anything:
                break;
            case PolicyRequirement::Type::reject:
                reject("the policy rejects every image here (" + requirement.field + ")");
                break;
            case PolicyRequirement::Type::signed_by:
                reject("GPG signatures are not supported (" + requirement.field +
                       " asks for signedBy); use sigstoreSigned");
                break;
            case PolicyRequirement::Type::sigstore_signed: {
                if (requirement.fulcio)
                    reject("Fulcio (keyless) signatures are not supported (" + requirement.field +
                           ")");
                const std::vector<PublicKey>& keys = keys_for(requirement);
                if (!signatures) {
                    signatures.emplace();
                    if (registries_.use_sigstore_attachments(ref)) {
                        try {
                            *signatures = fetch_signatures(registry, ref.repository, manifest);
                            if (instance && *instance != manifest) {
                                auto more = fetch_signatures(registry, ref.repository, *instance);
                                signatures->insert(signatures->end(), more.begin(), more.end());
                            }
                        } catch (const SignatureFormatError& e) {
                            reject(e.what());
                        }
                    }
                }
                if (signatures->empty())
                    reject(registries_.use_sigstore_attachments(ref)
                               ? "no signature (looked for " + signature_tag(manifest) +
                                     " and referrers)"
                               : "no signature (use-sigstore-attachments is off for this "
                                 "registry in registries.d)");
                std::vector<Digest> digests{manifest};
                if (instance && *instance != manifest) digests.push_back(*instance);
                // Any of the requirement's keys; the first key's reasons when none does.
                std::optional<Verification> first;
                bool accepted = false;
                for (const auto& key : keys) {
                    Verification v =
                        verify_signatures(*signatures, key, ref, digests, requirement.identity);
                    if (!v.accepted.empty()) {
                        verified.insert(verified.end(), v.accepted.begin(), v.accepted.end());
                        accepted = true;
                        break;
                    }
                    if (!first) first = std::move(v);
                }
                if (!accepted) reject(first ? first->why_rejected() : "no key");
                break;
            }
        }
    }
    return verified;
}

}  // namespace berth::trust
