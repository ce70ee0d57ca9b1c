// The container's /etc/hosts, /etc/resolv.conf and /etc/hostname: files in its directory,
// bind-mounted over the image's. Edits to hosts keep the inode (the bind mount follows it),
// so peers on a user network appear in a running container.
#pragma once

#include <string>
#include <vector>

namespace berth::engine {

struct HostEntry {
    std::string ip;
    std::vector<std::string> names;
};

// hosts: localhost lines, then the entries.
void write_hosts(const std::string& path, const std::vector<HostEntry>& entries);
// Adds (or replaces) the line for names[0]; removes it with an empty ip.
void update_hosts_entry(const std::string& path, const HostEntry& entry);
// The host's resolv.conf without loopback nameservers (unreachable from a container's own
// network namespace; public resolvers stand in when none is left), or as is for the
// host's network; with only_nameserver (slirp4netns' DNS forwarder), that one instead of the
// host's nameservers.
void write_resolv_conf(const std::string& path, bool host_network,
                       const std::string& only_nameserver = {});
void write_hostname(const std::string& path, const std::string& hostname);

}  // namespace berth::engine
