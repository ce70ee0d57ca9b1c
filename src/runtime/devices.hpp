// Device nodes in the container's /dev and the device cgroup rules that go with them.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "oci/runtime_spec.hpp"

namespace berth::runtime {

// The default nodes every container gets (null, zero, full, random, urandom, tty) unless
// linux.devices names the same path, followed by linux.devices.
std::vector<oci::Device> container_devices(const oci::Linux& linux);

// linux.resources.devices followed by the rules runc always appends (the default nodes,
// /dev/pts/*, /dev/ptmx, /dev/console, /dev/net/tun, mknod of any node), so that
// containerd and podman configurations behave the same as with runc.
std::vector<oci::DeviceRule> device_cgroup_rules(const oci::Linux& linux);

// Creates each node inside root_fd. With bind_from_host (user namespaces, where mknod is
// not allowed) the host's node is bind-mounted onto an empty file instead.
void create_device_nodes(int root_fd, const std::vector<oci::Device>& devices, bool bind_from_host);

// /dev/fd, /dev/std{in,out,err}, /dev/core and /dev/ptmx -> pts/ptmx.
void create_dev_symlinks(int root_fd);

}  // namespace berth::runtime
