#include "image/platform.hpp"

#include <sys/utsname.h>

#include "common/error.hpp"
#include "common/strings.hpp"

namespace berth::image {
namespace {

std::string normalize_arch(std::string arch, std::string& variant) {
    if (arch == "x86_64" || arch == "x86-64") return "amd64";
    if (arch == "i386" || arch == "i686") return "386";
    if (arch == "aarch64" || arch == "arm64") {
        if (variant == "8" || variant == "v8") variant.clear();
        return "arm64";
    }
    if (arch == "armhf") {
        variant = "v7";
        return "arm";
    }
    if (arch == "armel") {
        variant = "v6";
        return "arm";
    }
    if (arch == "arm" && variant.empty()) variant = "v7";
    if (arch == "arm" && variant.size() == 1) variant = "v" + variant;
    return arch;
}

}  // namespace

oci::Platform normalize_platform(oci::Platform p) {
    p.architecture = normalize_arch(p.architecture, p.variant);
    if (p.os.empty()) p.os = "linux";
    return p;
}

oci::Platform host_platform() {
    utsname u{};
    ::uname(&u);
    oci::Platform p;
    p.os = "linux";
    std::string machine = u.machine;
    if (machine.starts_with("armv7"))
        p = {"arm", "linux", "", {}, "v7"};
    else if (machine.starts_with("armv6"))
        p = {"arm", "linux", "", {}, "v6"};
    else
        p.architecture = machine;
    return normalize_platform(p);
}

oci::Platform parse_platform_spec(std::string_view text) {
    std::vector<std::string> parts = split(text, '/');
    oci::Platform p;
    if (parts.size() == 1 && !parts[0].empty()) {
        p.os = "linux";
        p.architecture = parts[0];
    } else if ((parts.size() == 2 || parts.size() == 3) && !parts[0].empty() && !parts[1].empty()) {
        p.os = parts[0];
        p.architecture = parts[1];
        if (parts.size() == 3) p.variant = parts[2];
    } else {
        throw Error("invalid platform \"" + std::string(text) + "\": expected OS/ARCH[/VARIANT]");
    }
    return normalize_platform(p);
}

std::string to_string(const oci::Platform& p) {
    std::string out = p.os + "/" + p.architecture;
    if (!p.variant.empty()) out += "/" + p.variant;
    return out;
}

bool platform_matches(const oci::Platform& want_in, const oci::Platform& have_in) {
    oci::Platform want = normalize_platform(want_in);
    oci::Platform have = normalize_platform(have_in);
    if (want.os != have.os || want.architecture != have.architecture) return false;
    return want.variant.empty() || have.variant.empty() || want.variant == have.variant;
}

std::optional<size_t> select_manifest(const std::vector<oci::Descriptor>& manifests,
                                      const oci::Platform& want) {
    std::optional<size_t> loose;
    for (size_t i = 0; i < manifests.size(); ++i) {
        const auto& d = manifests[i];
        if (!d.platform) continue;
        if (!platform_matches(want, *d.platform)) continue;
        // An exact variant beats a match by default.
        if (normalize_platform(*d.platform).variant == normalize_platform(want).variant) return i;
        if (!loose) loose = i;
    }
    return loose;
}

}  // namespace berth::image
