// rpm's header blob, as rpmdb stores it: big-endian index count and data size, the index
// entries (tag, type, offset, count), then the data store. Only what an SBOM needs is read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace berth::trust::sbom {

struct RpmHeader {
    std::string name, version, release, arch, license, vendor, source_rpm;
    std::optional<uint32_t> epoch;
};

// Throws Error naming what for a blob whose index or data runs past its end.
RpmHeader parse_rpm_header(std::string_view blob, const std::string& what);

// A header blob with these string tags (and epoch), for tests and fixtures.
std::string make_rpm_header(const RpmHeader& header);

}  // namespace berth::trust::sbom
