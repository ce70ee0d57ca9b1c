#include "runtime/capabilities.hpp"
#include "runtime/lsm.hpp"
#include "runtime/seccomp/seccomp.hpp"
#include "runtime/verbs/verbs.hpp"

namespace berth::runtime {

nlohmann::ordered_json features_document() {
    nlohmann::ordered_json f;
    f["ociVersionMin"] = "1.0.0";
    f["ociVersionMax"] = oci::kSpecVersion;
    f["hooks"] = {"prestart",       "createRuntime", "createContainer",
                  "startContainer", "poststart",     "poststop"};
    f["mountOptions"] = {
        "async",    "atime",        "bind",          "defaults",    "dev",         "diratime",
        "dirsync",  "exec",         "iversion",      "lazytime",    "loud",        "mand",
        "noatime",  "nodev",        "nodiratime",    "noexec",      "noiversion",  "nolazytime",
        "nomand",   "norelatime",   "nostrictatime", "nosuid",      "nosymfollow", "private",
        "rbind",    "rdev",         "rdiratime",     "relatime",    "remount",     "rexec",
        "rnoatime", "rnodev",       "rnodiratime",   "rnoexec",     "rnosuid",     "rnosymfollow",
        "ro",       "rprivate",     "rrelatime",     "rro",         "rrw",         "rshared",
        "rslave",   "rstrictatime", "rsuid",         "rsymfollow",  "runbindable", "rw",
        "shared",   "silent",       "slave",         "strictatime", "suid",        "symfollow",
        "sync",     "tmpcopyup",    "unbindable"};
    nlohmann::ordered_json linux;
    linux["namespaces"] = {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"};
    linux["capabilities"] = known_capability_names();
    linux["cgroup"] = {
        {"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}, {"rdma", false}};
    linux["seccomp"] = seccomp::features();
    linux["apparmor"] = {{"enabled", apparmor_enabled()}};
    linux["selinux"] = {{"enabled", selinux_enabled()}};
    linux["intelRdt"] = {{"enabled", false}};
    linux["mountExtensions"] = {{"idmap", {{"enabled", false}}}};
    f["linux"] = linux;
    f["annotations"] = {{"org.opencontainers.runtime-spec.features", "berth-runtime"},
                        {"io.github.berth.runtime.version", BERTH_VERSION}};
    return f;
}

}  // namespace berth::runtime
