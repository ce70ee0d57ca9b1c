#include "trust/signature_store.hpp"

#include <nlohmann/json.hpp>

#include "oci/image_manifest.hpp"
#include "oci/media_types.hpp"
#include "trust/referrers.hpp"
#include "trust/simple_signing.hpp"

namespace berth::trust {
namespace {

constexpr int64_t kMaxSignatureManifest = 4 * 1024 * 1024;

// The layers of one signature manifest, checked as cosign writes them.
void collect_layers(distribution::Registry& registry, const std::string& repo,
                    const oci::Manifest& manifest, const std::string& what,
                    std::vector<StoredSignature>& out) {
    for (size_t i = 0; i < manifest.layers.size(); ++i) {
        const oci::Descriptor& layer = manifest.layers[i];
        std::string layer_what = what + " layer " + std::to_string(i);
        if (layer.media_type != kSimpleSigningMediaType)
            throw SignatureFormatError(layer_what + ": unexpected media type \"" +
                                       layer.media_type + "\" (a signature layer is \"" +
                                       std::string(kSimpleSigningMediaType) + "\")");
        if (layer.size > kMaxSignaturePayload)
            throw SignatureFormatError(
                layer_what + ": a signature payload of " + std::to_string(layer.size) +
                " bytes, more than the limit of " + std::to_string(kMaxSignaturePayload));
        auto annotation = layer.annotations.find(std::string(kSignatureAnnotation));
        if (annotation == layer.annotations.end())
            throw SignatureFormatError(layer_what + ": no \"" + std::string(kSignatureAnnotation) +
                                       "\" annotation");
        StoredSignature s;
        s.payload = fetch_layer(registry, repo, layer, kMaxSignaturePayload, layer_what);
        s.signature = annotation->second;
        s.where = layer_what;
        out.push_back(std::move(s));
    }
}

oci::Manifest parse_signature_manifest(const distribution::FetchedManifest& fetched,
                                       const std::string& what) {
    if (static_cast<int64_t>(fetched.bytes.size()) > kMaxSignatureManifest)
        throw SignatureFormatError(what + ": a signature manifest of " +
                                   std::to_string(fetched.bytes.size()) + " bytes");
    std::string type = fetched.media_type;
    try {
        auto doc = nlohmann::json::parse(fetched.bytes);
        if (doc.is_object() && doc.contains("mediaType") && doc["mediaType"].is_string())
            type = doc["mediaType"].get<std::string>();
    } catch (const nlohmann::json::exception&) {
        throw SignatureFormatError(what + ": the signature manifest is not JSON");
    }
    if (!oci::is_manifest_media_type(type))
        throw SignatureFormatError(what + ": unexpected media type \"" + type +
                                   "\" (a signature image is an OCI image manifest)");
    return oci::parse_manifest(fetched.bytes, what);
}

// cosign's config of a signature image: the payloads as diff IDs.
std::string signature_config(const oci::Manifest& manifest) {
    nlohmann::ordered_json diff_ids = nlohmann::ordered_json::array();
    for (const auto& layer : manifest.layers)
        diff_ids.push_back(layer.digest.str());
    nlohmann::ordered_json config = {
        {"architecture", ""},
        {"created", "0001-01-01T00:00:00Z"},
        {"history", nlohmann::ordered_json::array({{{"created", "0001-01-01T00:00:00Z"}}})},
        {"os", ""},
        {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}},
        {"config", nlohmann::ordered_json::object()}};
    return config.dump();
}

}  // namespace

std::string signature_tag(const Digest& digest) {
    return std::string(digest.algorithm_name()) + "-" + digest.hex() + ".sig";
}

std::vector<StoredSignature> fetch_signatures(distribution::Registry& registry,
                                              const std::string& repo, const Digest& subject) {
    std::vector<StoredSignature> out;
    std::string tag = signature_tag(subject);
    std::string what = registry.name() + "/" + repo + ":" + tag;
    std::optional<distribution::FetchedManifest> fetched;
    try {
        fetched = registry.get_manifest(repo, tag);
    } catch (const distribution::RegistryError& e) {
        if (e.status() != 404) throw;
    } catch (const InvalidDocument& e) {
        throw SignatureFormatError(e.what());
    }
    if (fetched)
        collect_layers(registry, repo, parse_signature_manifest(*fetched, what), what, out);

    std::vector<Referrer> referrers;
    try {
        referrers = list_referrers(registry, repo, subject, std::string(kSignatureArtifactType));
    } catch (const distribution::RegistryError& e) {
        if (e.status() != 404) throw;
    }
    for (const auto& r : referrers)
        collect_layers(registry, repo, r.manifest,
                       registry.name() + "/" + repo + " referrer " + r.digest.str(), out);
    return out;
}

void store_signature(distribution::Registry& registry, const std::string& repo,
                     const Digest& subject, const std::string& payload,
                     const std::string& signature_base64, SignatureStorage storage) {
    if (storage == SignatureStorage::referrers) {
        Artifact artifact;
        artifact.artifact_type = kSignatureArtifactType;
        artifact.media_type = kSimpleSigningMediaType;
        artifact.bytes = payload;
        artifact.layer_annotations[std::string(kSignatureAnnotation)] = signature_base64;
        push_referrer(registry, repo, manifest_descriptor(registry, repo, subject), artifact);
        return;
    }
    std::string tag = signature_tag(subject);
    std::string what = registry.name() + "/" + repo + ":" + tag;
    oci::Manifest manifest;
    manifest.media_type = oci::media_type::kOciManifest;
    try {
        manifest = parse_signature_manifest(registry.get_manifest(repo, tag), what);
    } catch (const distribution::RegistryError& e) {
        if (e.status() != 404) throw;
    }
    oci::Descriptor layer =
        push_blob(registry, repo, payload, std::string(kSimpleSigningMediaType));
    for (const auto& existing : manifest.layers) {
        auto sig = existing.annotations.find(std::string(kSignatureAnnotation));
        if (existing.digest == layer.digest && sig != existing.annotations.end() &&
            sig->second == signature_base64)
            return;  // already there
    }
    layer.annotations[std::string(kSignatureAnnotation)] = signature_base64;
    manifest.layers.push_back(layer);
    manifest.config = push_blob(registry, repo, signature_config(manifest),
                                std::string(oci::media_type::kOciConfig));
    auto json = oci::to_json(manifest);
    json["mediaType"] = oci::media_type::kOciManifest;
    registry.put_manifest(repo, tag, json.dump(), std::string(oci::media_type::kOciManifest));
}

}  // namespace berth::trust
