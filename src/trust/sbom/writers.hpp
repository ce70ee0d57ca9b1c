// SBOM documents: SPDX 2.3 JSON and CycloneDX 1.5 JSON, each valid against its published
// JSON schema. Both carry every package's purl and CPE, its licenses, its source package and
// the layer digest that introduced it.
#pragma once

#include <string>

#include "trust/sbom/package.hpp"

namespace berth::trust::sbom {

inline constexpr std::string_view kSpdxMediaType = "application/spdx+json";
inline constexpr std::string_view kCycloneDxMediaType = "application/vnd.cyclonedx+json";

struct WriteOptions {
    std::string created;  // RFC 3339; empty: now (or SOURCE_DATE_EPOCH when set)
    std::string tool_version;
};

std::string to_spdx_json(const Catalog& catalog, const WriteOptions& options = {});
std::string to_cyclonedx_json(const Catalog& catalog, const WriteOptions& options = {});

// A license text as an SPDX license expression, or empty when it is not one (it then goes
// to a LicenseRef-).
bool is_spdx_expression(std::string_view text);

// options.created, else SOURCE_DATE_EPOCH, else now (RFC 3339).
std::string creation_time(const WriteOptions& options);

// A random (v4) UUID.
std::string random_uuid();

}  // namespace berth::trust::sbom
