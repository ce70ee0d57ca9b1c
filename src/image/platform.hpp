// Platforms ("linux/arm64/v8"): the host's, parsing --platform, and choosing a manifest
// from an index the way containerd does (normalised architecture names, variant defaults).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oci/descriptor.hpp"

namespace berth::image {

// This machine: linux and GOARCH-style names (amd64, arm64, arm with variant v7, ...).
oci::Platform host_platform();

// "os/arch[/variant]" or "arch"; normalised ("x86_64" -> "amd64", "aarch64" -> "arm64").
// Throws Error for malformed text.
oci::Platform parse_platform_spec(std::string_view text);

oci::Platform normalize_platform(oci::Platform platform);
std::string to_string(const oci::Platform& platform);

// Whether have can run where want is asked for (os and architecture equal; the variant
// equal, or absent on either side where it has a default).
bool platform_matches(const oci::Platform& want, const oci::Platform& have);

// The index entry to use for want: the first matching manifest; nullopt when none matches.
std::optional<size_t> select_manifest(const std::vector<oci::Descriptor>& manifests,
                                      const oci::Platform& want);

}  // namespace berth::image
