#include "trust/image_signing.hpp"

#include "distribution/client/http.hpp"

namespace berth::trust {

Digest resolve_digest(distribution::Registry& registry, const image::Reference& ref) {
    if (ref.digest) {
        if (!registry.head_manifest(ref.repository, ref.digest->str()))
            throw Error(ref.str() + ": no such manifest in the registry");
        return *ref.digest;
    }
    auto head = registry.head_manifest(ref.repository, ref.tag_or_latest());
    if (head) return head->digest;
    // A registry that sends no digest on HEAD: the manifest itself.
    return registry.get_manifest(ref.repository, ref.tag_or_latest()).digest;
}

SignResult sign_image(distribution::Registry& registry, const image::Reference& ref,
                      const PrivateKey& key, const SignOptions& options) {
    SignResult result;
    result.digest = resolve_digest(registry, ref);
    result.docker_reference = !ref.tag.empty() ? ref.name() + ":" + ref.tag : ref.name();
    SimpleSigningPayload payload;
    payload.docker_reference = result.docker_reference;
    payload.manifest_digest = result.digest;
    payload.optional = nlohmann::json::object();
    for (const auto& [k, v] : options.annotations)
        payload.optional[k] = v;
    result.payload = make_payload(payload);
    std::string signature = distribution::base64_encode(key.sign(result.payload));
    store_signature(registry, ref.repository, result.digest, result.payload, signature,
                    options.storage);
    return result;
}

SignedIdentity identity_for_verify(const std::string& identity) {
    SignedIdentity id;
    if (identity.empty()) {
        id.type = SignedIdentity::Type::match_repository;
        return id;
    }
    image::Reference ref = parse_signed_reference(identity);
    if (!ref.tag.empty() || ref.digest) {
        id.type = SignedIdentity::Type::exact_reference;
        id.docker_reference = ref.str();
    } else {
        id.type = SignedIdentity::Type::exact_repository;
        id.docker_repository = ref.name();
    }
    return id;
}

Verification verify_image(distribution::Registry& registry, const image::Reference& ref,
                          const PublicKey& key, const SignedIdentity& identity) {
    Digest digest = resolve_digest(registry, ref);
    auto signatures = fetch_signatures(registry, ref.repository, digest);
    return verify_signatures(signatures, key, ref, {digest}, identity);
}

}  // namespace berth::trust
