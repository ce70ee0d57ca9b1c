// The container's root filesystem inside its new mount namespace: propagation, the rootfs
// bind, every configured mount (targets resolved inside the rootfs), /dev, pivot_root, and
// the read-only/masked paths afterwards.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "oci/runtime_spec.hpp"
#include "runtime/cgroup/manager.hpp"

namespace berth::runtime {

struct RootfsContext {
    const oci::Spec* spec = nullptr;
    std::string rootfs;  // absolute host path
    std::string bundle;  // relative bind sources are relative to it
    bool user_namespace = false;
    bool new_cgroup_namespace = false;
    bool new_network_namespace = false;
    bool no_pivot = false;
    cgroup::Mode cgroup_mode = cgroup::Mode::v1;
    std::vector<cgroup::Manager::Placement> cgroup_placements;
    std::string cwd;  // process.cwd, created inside the rootfs when missing (as runc does)
    // Runs before the first cgroup mount (the container must be in its cgroups by then).
    std::function<void()> before_cgroups;
    // Runs after the mounts, before pivot_root (the prestart/createRuntime/createContainer hooks).
    std::function<void()> before_pivot;
};

// Everything up to and including pivot_root (or chroot with no_pivot).
void prepare_rootfs(const RootfsContext& context);

// After pivot_root, in the container's root: readonlyPaths, maskedPaths, root.readonly.
void finalize_rootfs(const oci::Spec& spec);

}  // namespace berth::runtime
