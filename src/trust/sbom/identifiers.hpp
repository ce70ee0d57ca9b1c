// Package URLs (github.com/package-url/purl-spec) and CPE 2.3 names for packages.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "trust/sbom/package.hpp"

namespace berth::trust::sbom {

// Percent-encodes what the purl spec does not allow verbatim in a component.
std::string purl_encode(std::string_view text);

// pkg:TYPE[/NAMESPACE]/NAME@VERSION[?key=value&...] (qualifiers sorted, empty ones dropped).
std::string make_purl(std::string_view type, std::string_view ns, std::string_view name,
                      std::string_view version,
                      const std::map<std::string, std::string>& qualifiers);

// cpe:2.3:a:VENDOR:PRODUCT:VERSION:*:*:*:*:*:*:* with the special characters escaped; empty
// when the name or version is empty. The vendor is derived: the Go module's owner for
// github.com/OWNER/REPO, else the product name (the common convention for OS packages).
std::string make_cpe(const Package& package);

}  // namespace berth::trust::sbom
