#include "runtime/lsm.hpp"

#include <unistd.h>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/strings.hpp"

namespace berth::runtime {

bool apparmor_enabled() {
    auto enabled = read_file_if_exists("/sys/module/apparmor/parameters/enabled");
    return enabled && trim(*enabled) == "Y" && ::access("/proc/self/attr/apparmor", F_OK) == 0;
}

bool selinux_enabled() {
    return ::access("/sys/fs/selinux/enforce", F_OK) == 0;
}

void validate_lsm(const oci::Process& process, const std::string& field) {
    if (!process.apparmor_profile.empty() && !apparmor_enabled())
        throw Error(
            field +
            ".apparmorProfile: AppArmor is not enabled on this host, cannot apply profile \"" +
            process.apparmor_profile + "\"");
    if (!process.selinux_label.empty() && !selinux_enabled())
        throw Error(field +
                    ".selinuxLabel: SELinux is not enabled on this host, cannot apply label \"" +
                    process.selinux_label + "\"");
}

void apply_apparmor_profile(const std::string& profile) {
    if (profile.empty()) return;
    std::string path = ::access("/proc/self/attr/apparmor/exec", F_OK) == 0
                           ? "/proc/self/attr/apparmor/exec"
                           : "/proc/self/attr/exec";
    try {
        write_existing_file(path, "exec " + profile);
    } catch (const SystemError& e) {
        throw Error("process.apparmorProfile: cannot apply \"" + profile + "\": " + e.what());
    }
}

void apply_selinux_label(const std::string& label) {
    if (label.empty()) return;
    try {
        write_existing_file("/proc/self/attr/exec", label);
    } catch (const SystemError& e) {
        throw Error("process.selinuxLabel: cannot apply \"" + label + "\": " + e.what());
    }
}

}  // namespace berth::runtime
