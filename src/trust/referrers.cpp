#include "trust/referrers.hpp"

#include "common/time.hpp"
#include "image/byte_source.hpp"
#include "oci/image_index.hpp"
#include "oci/media_types.hpp"

namespace berth::trust {
namespace {

constexpr std::string_view kEmptyJson = "{}";

bool is_not_found(const distribution::RegistryError& e) {
    return e.status() == 404;
}

// Without the referrers API: the index at tag <alg>-<hex> lists the referrers.
void update_fallback_tag(distribution::Registry& registry, const std::string& repo,
                         const Digest& subject, const oci::Descriptor& referrer) {
    std::string tag = std::string(subject.algorithm_name()) + "-" + subject.hex();
    oci::Index index;
    index.media_type = oci::media_type::kOciIndex;
    try {
        index = oci::parse_index(registry.get_manifest(repo, tag).bytes,
                                 registry.name() + "/" + repo + ":" + tag);
    } catch (const distribution::RegistryError& e) {
        if (!is_not_found(e)) throw;
    }
    for (const auto& d : index.manifests)
        if (d.digest == referrer.digest) return;
    index.manifests.push_back(referrer);
    auto json = oci::to_json(index);
    if (!json.contains("mediaType")) json["mediaType"] = oci::media_type::kOciIndex;
    registry.put_manifest(repo, tag, json.dump(), std::string(oci::media_type::kOciIndex));
}

}  // namespace

oci::Descriptor manifest_descriptor(distribution::Registry& registry, const std::string& repo,
                                    const Digest& digest) {
    auto head = registry.head_manifest(repo, digest.str());
    if (!head)
        throw Error(registry.name() + "/" + repo + "@" + digest.str() +
                    ": no such manifest in the registry");
    oci::Descriptor d;
    d.media_type =
        head->media_type.empty() ? std::string(oci::media_type::kOciManifest) : head->media_type;
    d.digest = digest;
    d.size = head->size;
    return d;
}

oci::Descriptor push_blob(distribution::Registry& registry, const std::string& repo,
                          const std::string& bytes, const std::string& media_type) {
    oci::Descriptor d;
    d.media_type = media_type;
    d.digest = digest_of(bytes);
    d.size = static_cast<int64_t>(bytes.size());
    if (!registry.blob_size(repo, d.digest)) {
        registry.upload_blob(
            repo, d.digest, d.size,
            [&bytes](int64_t offset) -> std::unique_ptr<image::ByteSource> {
                return std::make_unique<image::MemorySource>(
                    std::string_view(bytes).substr(static_cast<size_t>(offset)));
            },
            0);
    }
    return d;
}

Digest push_referrer(distribution::Registry& registry, const std::string& repo,
                     const oci::Descriptor& subject, const Artifact& artifact) {
    oci::Manifest m;
    m.media_type = oci::media_type::kOciManifest;
    m.artifact_type = artifact.artifact_type;
    m.config =
        push_blob(registry, repo, std::string(kEmptyJson), std::string(oci::media_type::kOciEmpty));
    oci::Descriptor layer = push_blob(registry, repo, artifact.bytes, artifact.media_type);
    layer.annotations = artifact.layer_annotations;
    m.layers.push_back(layer);
    oci::Descriptor subject_ref;
    subject_ref.media_type = subject.media_type;
    subject_ref.digest = subject.digest;
    subject_ref.size = subject.size;
    m.subject = subject_ref;
    m.annotations = artifact.annotations;
    if (!m.annotations.count("org.opencontainers.image.created"))
        m.annotations["org.opencontainers.image.created"] = rfc3339_now();
    std::string bytes = oci::to_json(m).dump();
    Digest digest = digest_of(bytes);
    registry.put_manifest(repo, digest.str(), bytes, std::string(oci::media_type::kOciManifest));

    // The registry announces the API at /v2/<repo>/referrers/<digest>; without it (404) the
    // client keeps the fallback tag.
    oci::Descriptor self;
    self.media_type = oci::media_type::kOciManifest;
    self.digest = digest;
    self.size = static_cast<int64_t>(bytes.size());
    self.artifact_type = artifact.artifact_type;
    self.annotations = m.annotations;
    bool listed = false;
    try {
        for (const auto& d : registry.referrers(repo, subject.digest).manifests)
            listed = listed || d.digest == digest;
    } catch (const distribution::RegistryError& e) {
        if (!is_not_found(e)) throw;
    }
    if (!listed) update_fallback_tag(registry, repo, subject.digest, self);
    return digest;
}

std::vector<Referrer> list_referrers(distribution::Registry& registry, const std::string& repo,
                                     const Digest& subject, const std::string& artifact_type) {
    std::vector<Referrer> out;
    for (const auto& d : registry.referrers(repo, subject, artifact_type).manifests) {
        std::string what = registry.name() + "/" + repo + "@" + d.digest.str();
        auto fetched = registry.get_manifest(repo, d.digest.str(), d.digest);
        if (oci::detect_manifest_kind(fetched.bytes, fetched.media_type, what) !=
            oci::ManifestKind::manifest)
            throw Error(what + ": a referrer of " + subject.str() + " is an index, not a manifest");
        Referrer r;
        r.digest = d.digest;
        r.manifest = oci::parse_manifest(fetched.bytes, what);
        if (r.manifest.artifact_type != artifact_type &&
            r.manifest.config.media_type != artifact_type)
            continue;  // the listing's annotation lied; the manifest decides
        if (r.manifest.subject && r.manifest.subject->digest != subject) continue;
        auto created = r.manifest.annotations.find("org.opencontainers.image.created");
        if (created != r.manifest.annotations.end()) r.created = created->second;
        out.push_back(std::move(r));
    }
    return out;
}

std::string fetch_layer(distribution::Registry& registry, const std::string& repo,
                        const oci::Descriptor& layer, int64_t max_size, const std::string& what) {
    if (layer.size > max_size)
        throw Error(what + ": " + std::to_string(layer.size) + " bytes, more than the limit of " +
                    std::to_string(max_size));
    return registry.fetch_small_blob(repo, layer);
}

}  // namespace berth::trust
