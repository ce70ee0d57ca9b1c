// Linux namespaces: opening the ones a container joins by path, and user-namespace
// id mappings (written directly as root, through newuidmap/newgidmap otherwise).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/unique_fd.hpp"
#include "oci/runtime_spec.hpp"

namespace berth::runtime {

struct NamespaceToJoin {
    oci::NamespaceType type;
    std::string path;
    UniqueFd fd;
};

// Opens every namespace the config joins by path and checks it has the right type.
// The user namespace, when joined, comes first: the others must be entered as its member.
std::vector<NamespaceToJoin> open_namespaces_to_join(const oci::Linux& linux);

// setns(2) into each, in order; errors name the namespace path.
void join_namespaces(const std::vector<NamespaceToJoin>& namespaces);

// CLONE_NEW* flags of the namespaces the config creates.
int new_namespace_flags(const oci::Linux& linux);

// Writes uid_map and gid_map of pid. Root writes them itself; an unprivileged user maps
// just its own ids itself and needs newuidmap/newgidmap (setuid helpers) for anything else.
void write_id_mappings(pid_t pid, const std::vector<oci::IdMapping>& uid_mappings,
                       const std::vector<oci::IdMapping>& gid_mappings);

// True when this process is in a user namespace other than the initial one (e.g. an
// unprivileged user's berth engine runs the runtime as uid 0 of its own user namespace):
// it may not make cgroups or device nodes there, as an unprivileged runtime may not.
bool in_child_user_namespace();

// Writes /proc/self/timens_offsets (after unshare(CLONE_NEWTIME), before any child).
void write_time_offsets(const oci::Linux& linux);

// Sets the loopback interface of the caller's (new) network namespace up. runc leaves it down
// (a CNI loopback plugin or the caller's hook brings it up); an engine without a plugin for it
// asks with this annotation set to "up" (crun always does it). Not by default: it costs
// ~0.2 ms of every start and more at the namespace's teardown.
constexpr std::string_view kLoopbackAnnotation = "io.berth.network.loopback";
void bring_loopback_up();

}  // namespace berth::runtime
