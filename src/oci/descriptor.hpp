// The OCI content descriptor and platform (image-spec descriptor.md, image-index.md).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/digest.hpp"
#include "common/json_reader.hpp"

namespace berth::oci {

struct Platform {
    std::string architecture;
    std::string os;
    std::string os_version;
    std::vector<std::string> os_features;
    std::string variant;
};

struct Descriptor {
    std::string media_type;
    Digest digest;
    int64_t size = 0;
    std::vector<std::string> urls;
    std::map<std::string, std::string> annotations;
    std::optional<Platform> platform;
    std::string artifact_type;
};

// Strict: mediaType, digest and size are required, the digest must be valid and supported,
// size non-negative. Errors name the field ("layers[2].digest: ...").
Descriptor parse_descriptor(const JsonReader& reader);
Platform parse_platform(const JsonReader& reader);

nlohmann::ordered_json to_json(const Descriptor& descriptor);
nlohmann::ordered_json to_json(const Platform& platform);

// Reads a required digest field.
Digest parse_digest_field(const JsonReader& reader);

}  // namespace berth::oci
