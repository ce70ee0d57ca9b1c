// Error bodies of the OCI distribution API: {"errors":[{"code","message","detail"}]}.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace berth::oci {

struct DistributionError {
    std::string code;  // "MANIFEST_UNKNOWN", "UNAUTHORIZED", ...
    std::string message;
};

// The errors of a body; empty when the body is not such a document (registries and proxies
// also answer with HTML or nothing).
std::vector<DistributionError> parse_distribution_errors(std::string_view body);

// "MANIFEST_UNKNOWN: manifest unknown; ..." or empty.
std::string describe_distribution_errors(std::string_view body);

}  // namespace berth::oci
