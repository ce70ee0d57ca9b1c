#include "runtime/validate.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/strings.hpp"
#include "runtime/lsm.hpp"
#include "runtime/mount_options.hpp"

namespace berth::runtime {

void validate_sysctls(const oci::Spec& spec) {
    const auto& l = spec.linux;
    auto has = [&](oci::NamespaceType t) { return l.find_namespace(t) != nullptr; };
    for (const auto& [key, value] : l.sysctl) {
        std::string field = "linux.sysctl." + key;
        if (key.find('/') != std::string::npos || key.find("..") != std::string::npos ||
            key.empty())
            throw Error(field + ": invalid sysctl name");
        static const char* ipc_keys[] = {"kernel.msgmax", "kernel.msgmnb",         "kernel.msgmni",
                                         "kernel.sem",    "kernel.shmall",         "kernel.shmmax",
                                         "kernel.shmmni", "kernel.shm_rmid_forced"};
        bool ipc = key.rfind("fs.mqueue.", 0) == 0;
        for (const char* k : ipc_keys)
            ipc = ipc || key == k;
        if (ipc) {
            if (!has(oci::NamespaceType::ipc)) throw Error(field + ": needs an ipc namespace");
            continue;
        }
        if (key.rfind("net.", 0) == 0) {
            if (!has(oci::NamespaceType::network))
                throw Error(field + ": not allowed in the host's network namespace");
            continue;
        }
        if (key == "kernel.hostname" || key == "kernel.domainname") {
            if (!has(oci::NamespaceType::uts)) throw Error(field + ": needs a uts namespace");
            continue;
        }
        throw Error(field + ": not a namespaced sysctl; it would change the host");
    }
}

namespace {

bool maps(const std::vector<oci::IdMapping>& mappings, uint64_t id) {
    for (const auto& m : mappings)
        if (id >= m.container_id && id - m.container_id < m.size) return true;
    return false;
}

// As runc checks for rootless containers: uid=/gid= mount options must name ids the new user
// namespace maps (the kernel only says EINVAL).
void validate_mount_ids(const oci::Spec& spec) {
    for (size_t i = 0; i < spec.mounts.size(); ++i) {
        for (const auto& option : split(parse_mount_options(spec.mounts[i].options).data, ',')) {
            const bool uid = option.rfind("uid=", 0) == 0;
            if (!uid && option.rfind("gid=", 0) != 0) continue;
            auto id = parse_uint64(std::string_view(option).substr(4));
            if (!id) continue;  // not a number: the filesystem's business
            if (!maps(uid ? spec.linux.uid_mappings : spec.linux.gid_mappings, *id))
                throw Error("mounts[" + std::to_string(i) + "].options: " + option +
                            " is not mapped by " +
                            (uid ? "linux.uidMappings" : "linux.gidMappings") +
                            " (in a user namespace only mapped ids exist)");
        }
    }
}

}  // namespace

void validate_for_create(const oci::Spec& spec, bool rootless) {
    if (!spec.process) throw Error("process: required to create a container");
    if (!spec.linux.find_namespace(oci::NamespaceType::mount))
        throw Error("linux.namespaces: berth-runtime needs a mount namespace (new or joined)");
    if (rootless && !spec.linux.find_namespace(oci::NamespaceType::user))
        throw Error("linux.namespaces: running as an unprivileged user needs a user namespace");
    validate_sysctls(spec);
    if (spec.linux.has_new_namespace(oci::NamespaceType::user)) validate_mount_ids(spec);
    validate_lsm(*spec.process, "process");
    if (spec.process->terminal && spec.process->args.empty()) throw Error("process.args: empty");
    for (size_t i = 0; i < spec.mounts.size(); ++i) {
        MountOptions o = parse_mount_options(spec.mounts[i].options);
        if (o.idmap || !spec.mounts[i].uid_mappings.empty())
            throw Error("mounts[" + std::to_string(i) +
                        "]: idmapped mounts are not supported by berth-runtime yet");
    }
    if (!spec.linux.time_offsets.empty() && ::access("/proc/self/timens_offsets", F_OK) != 0)
        throw Error("linux.timeOffsets: this kernel has no time namespaces");
}

}  // namespace berth::runtime
