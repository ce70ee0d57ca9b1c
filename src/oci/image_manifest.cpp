#include "oci/image_manifest.hpp"

#include "common/json_reader.hpp"
#include "oci/media_types.hpp"

namespace berth::oci {
namespace {

void check_schema_version(const JsonReader& root) {
    if (!root.has("schemaVersion"))
        throw InvalidDocument("schemaVersion: required field is missing");
    int64_t version = root.at("schemaVersion").as_int();
    if (version == 1) throw InvalidDocument("Docker schema1 manifests are not supported");
    if (version != 2)
        throw InvalidDocument("schemaVersion: unsupported version " + std::to_string(version));
}

}  // namespace

bool Manifest::is_docker() const {
    return media_type == media_type::kDockerManifest;
}

ManifestKind detect_manifest_kind(std::string_view bytes, std::string_view content_type,
                                  std::string_view what) {
    nlohmann::json doc = parse_json(std::string(bytes), std::string(what));
    if (!doc.is_object()) invalid_document(what, "expected a JSON object");
    std::string type;
    if (auto it = doc.find("mediaType"); it != doc.end() && it->is_string())
        type = it->get<std::string>();
    if (type.empty()) {
        // Registries add parameters sometimes: "application/json; charset=utf-8".
        type = std::string(content_type.substr(0, content_type.find(';')));
        if (!is_manifest_media_type(type) && !is_index_media_type(type)) type.clear();
    }
    if (type.empty()) {
        if (auto it = doc.find("schemaVersion"); it != doc.end() && *it == 1)
            invalid_document(what, "Docker schema1 manifests are not supported");
        if (doc.contains("manifests")) return ManifestKind::index;
        if (doc.contains("config")) return ManifestKind::manifest;
        invalid_document(
            what, "neither an image manifest nor an index (no mediaType, config or manifests)");
    }
    if (is_manifest_media_type(type)) return ManifestKind::manifest;
    if (is_index_media_type(type)) return ManifestKind::index;
    if (type == media_type::kDockerSchema1 || type == media_type::kDockerSchema1Signed)
        invalid_document(what, "Docker schema1 manifests are not supported");
    invalid_document(what, "unsupported media type " + type);
}

Manifest parse_manifest(std::string_view bytes, std::string_view what) {
    nlohmann::json doc = parse_json(std::string(bytes), std::string(what));
    try {
        JsonReader root(doc, "");
        root.require_object();
        check_schema_version(root);
        Manifest m;
        m.media_type = root.string_or("mediaType");
        if (!m.media_type.empty() && !is_manifest_media_type(m.media_type)) {
            if (is_index_media_type(m.media_type))
                throw InvalidDocument("is an index (" + m.media_type + "), not a manifest");
            throw InvalidDocument("mediaType: unsupported media type " + m.media_type);
        }
        if (root.has("manifests"))
            throw InvalidDocument("has \"manifests\": an index, not a manifest");
        m.artifact_type = root.string_or("artifactType");
        m.config = parse_descriptor(root.at("config"));
        for (const auto& layer : root.at("layers").as_array())
            m.layers.push_back(parse_descriptor(layer));
        if (auto subject = root.find("subject")) m.subject = parse_descriptor(*subject);
        if (auto a = root.find("annotations")) m.annotations = a->as_string_map();
        if (m.is_docker() && m.config.media_type != media_type::kDockerConfig)
            throw InvalidDocument("config.mediaType: a Docker schema2 manifest needs " +
                                  std::string(media_type::kDockerConfig) + ", got " +
                                  m.config.media_type);
        return m;
    } catch (const InvalidDocument& e) {
        invalid_document(what, e.what());
    }
}

nlohmann::ordered_json to_json(const Manifest& m) {
    nlohmann::ordered_json j;
    j["schemaVersion"] = m.schema_version;
    if (!m.media_type.empty()) j["mediaType"] = m.media_type;
    if (!m.artifact_type.empty()) j["artifactType"] = m.artifact_type;
    j["config"] = to_json(m.config);
    j["layers"] = nlohmann::ordered_json::array();
    for (const auto& layer : m.layers)
        j["layers"].push_back(to_json(layer));
    if (m.subject) j["subject"] = to_json(*m.subject);
    if (!m.annotations.empty()) j["annotations"] = m.annotations;
    return j;
}

}  // namespace berth::oci
