// Builds the BPF_PROG_TYPE_CGROUP_DEVICE program for an OCI device rule list by hand.
//
// The program decides each requested access bit (mknod, read, write) on its own: the last
// rule in the list that matches the device and covers that bit decides it (later rules
// override earlier ones), no match denies, and the access is allowed when every requested
// bit is. Type "a" and absent major/minor are wildcards.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <vector>

#include "oci/runtime_spec.hpp"

namespace berth::runtime::cgroup::v2 {

std::vector<bpf_insn> build_device_filter(const std::vector<oci::DeviceRule>& rules);

// The license string the program is loaded with.
inline constexpr const char* kDeviceFilterLicense = "Apache";

}  // namespace berth::runtime::cgroup::v2
