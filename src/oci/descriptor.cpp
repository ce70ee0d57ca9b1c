#include "oci/descriptor.hpp"

namespace berth::oci {

Digest parse_digest_field(const JsonReader& reader) {
    std::string text = reader.as_string();
    try {
        return Digest::parse(text);
    } catch (const InvalidDigest& e) {
        reader.fail(e.what());
    }
}

Platform parse_platform(const JsonReader& reader) {
    reader.require_object();
    Platform platform;
    platform.architecture = reader.at("architecture").as_string();
    platform.os = reader.at("os").as_string();
    platform.os_version = reader.string_or("os.version");
    platform.os_features = reader.string_array_or_empty("os.features");
    platform.variant = reader.string_or("variant");
    return platform;
}

Descriptor parse_descriptor(const JsonReader& reader) {
    reader.require_object();
    Descriptor d;
    d.media_type = reader.at("mediaType").as_string();
    if (d.media_type.empty()) reader.at("mediaType").fail("must not be empty");
    d.digest = parse_digest_field(reader.at("digest"));
    d.size = reader.at("size").as_int(0);
    d.urls = reader.string_array_or_empty("urls");
    if (auto a = reader.find("annotations")) d.annotations = a->as_string_map();
    if (auto p = reader.find("platform")) d.platform = parse_platform(*p);
    d.artifact_type = reader.string_or("artifactType");
    return d;
}

nlohmann::ordered_json to_json(const Platform& platform) {
    nlohmann::ordered_json j;
    j["architecture"] = platform.architecture;
    j["os"] = platform.os;
    if (!platform.os_version.empty()) j["os.version"] = platform.os_version;
    if (!platform.os_features.empty()) j["os.features"] = platform.os_features;
    if (!platform.variant.empty()) j["variant"] = platform.variant;
    return j;
}

nlohmann::ordered_json to_json(const Descriptor& d) {
    nlohmann::ordered_json j;
    j["mediaType"] = d.media_type;
    j["digest"] = d.digest.str();
    j["size"] = d.size;
    if (!d.urls.empty()) j["urls"] = d.urls;
    if (!d.annotations.empty()) j["annotations"] = d.annotations;
    if (d.platform) j["platform"] = to_json(*d.platform);
    if (!d.artifact_type.empty()) j["artifactType"] = d.artifact_type;
    return j;
}

}  // namespace berth::oci
