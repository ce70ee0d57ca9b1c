// Docker's default seccomp profile (moby's profiles/seccomp/default.json, now the module
// github.com/moby/profiles/seccomp v0.2.3) as an OCI linux.seccomp object, expanded the way
// moby expands it for a container: the architectures of the host's family, and the rules
// included or excluded by the host's architecture, its kernel version and the container's
// capabilities (its bounding set).
#pragma once

#include <string>
#include <vector>

#include "oci/runtime_spec.hpp"

namespace berth::runtime::seccomp {

// What moby's profile conditions on besides capabilities.
struct ProfileHost {
    // The native architecture as the profile names it (libseccomp-golang's names): "amd64",
    // "x86", "arm64", "arm", "ppc64le", "s390x", "riscv64", "loong64", "mips64", ...
    std::string arch;
    unsigned kernel_major = 0;  // 6 for 6.1.0-18-amd64; 0.0 when unknown
    unsigned kernel_minor = 0;  // 1 for 6.1.0-18-amd64

    // This build's architecture and the running kernel (uname).
    static ProfileHost current();
};

// A rule's "includes" or "excludes" in moby's profile format (a --security-opt seccomp=FILE).
struct RuleCondition {
    std::vector<std::string> caps;    // "CAP_SYS_ADMIN", ...
    std::vector<std::string> arches;  // "amd64", ...
    std::string min_kernel;           // "4.8"; empty: none
};

// Whether moby keeps a rule with these conditions for a container with these capabilities:
// no exclude condition holds and every include condition does.
bool docker_rule_applies(const RuleCondition& includes, const RuleCondition& excludes,
                         const std::vector<std::string>& capabilities,
                         const ProfileHost& host = ProfileHost::current());

// capabilities: the container's bounding set ("CAP_SYS_ADMIN", ...).
oci::Seccomp docker_default_profile(const std::vector<std::string>& capabilities,
                                    const ProfileHost& host = ProfileHost::current());

}  // namespace berth::runtime::seccomp
