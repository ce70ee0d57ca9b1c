// How the host's cgroup hierarchies are laid out, and which one owns each controller.
// The parse functions work on text so that tests can feed them v1, hybrid and v2 samples.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/cgroup/manager.hpp"

namespace berth::runtime::cgroup {

// The controllers berth manages. blkio is "io" on cgroup v2; cpuacct's statistics live in
// the core cpu.stat file on v2; devices and freezer are core features of cgroup v2 (an eBPF
// program and cgroup.freeze) and need no controller there.
enum class Controller : std::size_t {
    cpu,
    cpuacct,
    cpuset,
    memory,
    pids,
    blkio,
    hugetlb,
    net_cls,
    net_prio,
    devices,
    freezer,
};
inline constexpr std::size_t kControllerCount = 11;
inline constexpr std::array<Controller, kControllerCount> kAllControllers = {
    Controller::cpu,      Controller::cpuacct, Controller::cpuset,  Controller::memory,
    Controller::pids,     Controller::blkio,   Controller::hugetlb, Controller::net_cls,
    Controller::net_prio, Controller::devices, Controller::freezer,
};

// Name in a v1 mount's options and in /proc/self/cgroup ("blkio").
const char* v1_name(Controller c);
// Name in cgroup.controllers on v2 ("io"); nullptr for controllers that v2 does not have
// (net_cls, net_prio) and for core features that need no controller (cpuacct, devices, freezer).
const char* v2_name(Controller c);
// Name used in saved state and messages ("blkio", "net_cls").
const char* controller_name(Controller c);
std::optional<Controller> controller_from_name(std::string_view name);

// One cgroup line of /proc/self/mountinfo.
struct MountEntry {
    std::string root;           // field 4: the directory of the hierarchy that is mounted
    std::string mountpoint;     // field 5
    std::string fstype;         // "cgroup" or "cgroup2"
    std::string super_options;  // "rw,cpu,cpuacct", "rw,nsdelegate"
};
// Only cgroup and cgroup2 mounts, in file order. Octal escapes (\040) in paths are decoded.
std::vector<MountEntry> parse_mountinfo(std::string_view text);

// /proc/self/cgroup: "hierarchy-id:controllers:path" lines.
struct ProcCgroupEntry {
    std::string controllers;  // "cpu,cpuacct", "name=systemd", "" for the unified hierarchy
    std::string path;
};
std::vector<ProcCgroupEntry> parse_proc_cgroup(std::string_view text);

// Builds a Layout from the mount entries, /proc/self/cgroup and the unified root's
// cgroup.controllers (empty when there is no cgroup2 mount). Duplicate mounts of one
// hierarchy keep the first that mounts the hierarchy's root.
Layout build_layout(const std::vector<MountEntry>& mounts, const std::vector<ProcCgroupEntry>& self,
                    std::string_view unified_controllers);

// Which hierarchy (index into layout.hierarchies) owns each controller, or nullopt when the
// controller is not available on this host. A v1 hierarchy that has the controller mounted
// wins; else the unified hierarchy when it offers the controller (or for core features).
using Owners = std::array<std::optional<std::size_t>, kControllerCount>;
Owners locate_controllers(const Layout& layout);

// The index of the unified hierarchy, if any.
std::optional<std::size_t> unified_index(const Layout& layout);

}  // namespace berth::runtime::cgroup
