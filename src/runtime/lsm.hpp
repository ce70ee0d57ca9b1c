// Linux security modules: AppArmor profiles and SELinux labels for the container process.
// Asked for on a host where the module is not enabled, they are an error, not a no-op.
#pragma once

#include <string>

#include "oci/runtime_spec.hpp"

namespace berth::runtime {

bool apparmor_enabled();
bool selinux_enabled();

// Throws naming process.apparmorProfile / process.selinuxLabel when unsupported here.
void validate_lsm(const oci::Process& process, const std::string& field);

// Take effect at the next execve(2).
void apply_apparmor_profile(const std::string& profile);
void apply_selinux_label(const std::string& label);

}  // namespace berth::runtime
