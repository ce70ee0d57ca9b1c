// linux.cgroupsPath as runc reads it: absolute paths are relative to each hierarchy's root,
// relative ones (and the container id when empty) to the runtime's own cgroup; with
// --systemd-cgroup the "slice:prefix:name" form becomes the path systemd would use.
#pragma once

#include <string>
#include <string_view>

#include "runtime/cgroup/manager.hpp"

namespace berth::runtime::cgroup {

struct CgroupPath {
    bool absolute = false;
    std::string path;  // cleaned: "/a/b" when absolute, "a/b" when relative; never the root
};

// Throws berth::Error naming linux.cgroupsPath for a path that escapes with "..", resolves
// to the root (or the runtime's own cgroup), holds control characters, or (systemd) is not
// of the form "slice:prefix:name".
CgroupPath resolve_cgroups_path(const Options& options);

// "a-b.slice" -> "/a.slice/a-b.slice"; "-.slice" -> "/". Throws on an invalid slice name.
std::string expand_slice(std::string_view slice);

// The runtime's own cgroup inside hierarchy h, "/"-rooted and relative to h.mountpoint ("/"
// when it is outside the subtree the mount shows).
std::string own_cgroup_in_hierarchy(const Hierarchy& h);

// The container's cgroup inside hierarchy h: "/"-rooted, relative to h.mountpoint. Absolute
// paths are taken as they are (runc ignores what subtree the mount shows); relative ones
// join the runtime's own cgroup. Never "/".
std::string path_in_hierarchy(const CgroupPath& path, const Hierarchy& h);

}  // namespace berth::runtime::cgroup
