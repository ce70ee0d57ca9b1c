#include "oci/image_index.hpp"

#include "common/json_reader.hpp"
#include "oci/media_types.hpp"

namespace berth::oci {
Index parse_index(std::string_view bytes, std::string_view what) {
    nlohmann::json doc = parse_json(std::string(bytes), std::string(what));
    try {
        JsonReader root(doc, "");
        root.require_object();
        if (!root.has("schemaVersion"))
            throw InvalidDocument("schemaVersion: required field is missing");
        if (int64_t v = root.at("schemaVersion").as_int(); v != 2)
            throw InvalidDocument("schemaVersion: unsupported version " + std::to_string(v));
        Index index;
        index.media_type = root.string_or("mediaType");
        if (!index.media_type.empty() && !is_index_media_type(index.media_type)) {
            if (is_manifest_media_type(index.media_type))
                throw InvalidDocument("is a manifest (" + index.media_type + "), not an index");
            throw InvalidDocument("mediaType: unsupported media type " + index.media_type);
        }
        index.artifact_type = root.string_or("artifactType");
        for (const auto& item : root.at("manifests").as_array())
            index.manifests.push_back(parse_descriptor(item));
        if (auto subject = root.find("subject")) index.subject = parse_descriptor(*subject);
        if (auto a = root.find("annotations")) index.annotations = a->as_string_map();
        return index;
    } catch (const InvalidDocument& e) {
        invalid_document(what, e.what());
    }
}

nlohmann::ordered_json to_json(const Index& index) {
    nlohmann::ordered_json j;
    j["schemaVersion"] = index.schema_version;
    if (!index.media_type.empty()) j["mediaType"] = index.media_type;
    if (!index.artifact_type.empty()) j["artifactType"] = index.artifact_type;
    j["manifests"] = nlohmann::ordered_json::array();
    for (const auto& m : index.manifests)
        j["manifests"].push_back(to_json(m));
    if (index.subject) j["subject"] = to_json(*index.subject);
    if (!index.annotations.empty()) j["annotations"] = index.annotations;
    return j;
}

}  // namespace berth::oci
