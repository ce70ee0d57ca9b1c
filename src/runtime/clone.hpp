// Creating container processes: clone(2) with fork semantics plus namespace flags, born
// directly in the container's cgroup where the kernel allows it.
#pragma once

#include <sys/types.h>

#include "runtime/cgroup/manager.hpp"

namespace berth::runtime {

// fork(2) semantics (the child continues on a copy of our stack) with CLONE_NEW* flags.
// With cgroup_dir >= 0 the child is born in that cgroup v2 directory (clone3,
// CLONE_INTO_CGROUP) and *into_cgroup says so; kernels without it fall back to clone(2).
pid_t clone_process(int namespace_flags, int cgroup_dir, bool* into_cgroup);

// Creates a child in the container's cgroups without migrating it afterwards: the caller
// joins the v1 hierarchies for the moment of the fork, the unified one is joined at birth.
// Returns 0 in the child. A kernel without CLONE_INTO_CGROUP gets the slow path (the child
// is moved through cgroup.procs).
pid_t clone_into_cgroups(cgroup::Manager& cgroups, int namespace_flags);

}  // namespace berth::runtime
