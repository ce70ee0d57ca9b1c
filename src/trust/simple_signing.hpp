// The "simple signing" payload that cosign, skopeo and podman sign for a container image:
//   {"critical":{"identity":{"docker-reference":"registry/repo[:tag]"},
//                "image":{"docker-manifest-digest":"sha256:..."},
//                "type":"cosign container image signature"},
//    "optional":{...annotations}}
// The signature covers these exact bytes, so a payload is kept as received.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/digest.hpp"

namespace berth::trust {

inline constexpr std::string_view kSimpleSigningType = "cosign container image signature";
inline constexpr std::string_view kSimpleSigningMediaType =
    "application/vnd.dev.cosign.simplesigning.v1+json";
inline constexpr std::string_view kSignatureAnnotation = "dev.cosignproject.cosign/signature";

struct SimpleSigningPayload {
    std::string docker_reference;  // as signed: "registry/repo" or "registry/repo:tag"
    Digest manifest_digest;
    nlohmann::json optional =
        nlohmann::json::object();  // annotations (strings, or what others wrote)
};

// The bytes berth signs ("optional" always an object: containers/image requires the key).
std::string make_payload(const SimpleSigningPayload& payload);

// Strict about "critical" (every field, the type, a valid digest); throws InvalidDocument
// naming what.
SimpleSigningPayload parse_payload(std::string_view bytes, const std::string& what);

}  // namespace berth::trust
