// Networks: bridge networks made with CNI (bridge + host-local IPAM, portmap for ports),
// recorded in the state database. "bridge" is the default network, made on first use; user
// networks have their own bridge and subnet, and their containers find each other by name
// (the engine writes their /etc/hosts). Removing a network deletes its bridge and its IPAM
// leases; each container's rules and leases go with its CNI DEL.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/container/specs.hpp"
#include "engine/network/cni.hpp"
#include "engine/paths.hpp"
#include "image/state_db.hpp"

namespace berth::engine {

struct NetworkRecord {
    std::string name;
    std::string id;
    std::string subnet;  // a.b.c.d/n
    std::string gateway;
    std::string bridge;  // the Linux bridge device
    std::string created;
    bool internal = false;
    nlohmann::json labels = nlohmann::json::object();
};

struct NetworkCreateOptions {
    std::string subnet;   // empty: the first free 10.89.N.0/24
    std::string gateway;  // empty: the subnet's first address
    bool internal = false;
    nlohmann::json labels = nlohmann::json::object();
};

// Where a container sits on a network (kept in its record for DEL and inspect).
struct Attachment {
    std::string network;
    std::string ifname;
    std::string ip;  // without the prefix length
    std::string gateway;
    std::string mac;
    std::vector<PortMapping> ports;
    nlohmann::json result;  // CNI's ADD result
};
nlohmann::json to_json(const Attachment& a);
Attachment attachment_from_json(const nlohmann::json& j);

class Networks {
  public:
    Networks(const EnginePaths& paths, image::Database& db);

    NetworkRecord create(const std::string& name, const NetworkCreateOptions& options = {});
    // Throws Error "network NAME not found"; "bridge" is made when missing.
    NetworkRecord get(const std::string& name_or_id);
    std::vector<NetworkRecord> list();
    // Deletes the bridge and the leases (the caller checked that no container uses it).
    void remove(const NetworkRecord& network);
    nlohmann::json inspect(const NetworkRecord& network) const;

    // CNI ADD of the container's netns to the network (ports published on it).
    Attachment attach(const NetworkRecord& network, const std::string& container_id,
                      const std::string& netns, const std::string& ifname,
                      const std::vector<PortMapping>& ports);
    // CNI DEL; best effort, returns an error message or "".
    std::string detach(const NetworkRecord& network, const std::string& container_id,
                       const std::string& netns, const Attachment& attachment);
    // What detach runs, prepared for later (by the container's monitor).
    [[nodiscard]] CniTeardown teardown(const NetworkRecord& network,
                                       const std::string& container_id, const std::string& netns,
                                       const Attachment& attachment) const;

    // The CNI configuration list for one container's ADD/DEL (portmap only with ports).
    [[nodiscard]] nlohmann::json conflist(const NetworkRecord& network, bool ports) const;
    void install_rules(const NetworkRecord& network);
    void remove_rules(const NetworkRecord& network);

  private:
    std::string free_subnet();
    const EnginePaths& paths_;
    image::Database& db_;
};

// The iptables rules a network owns, each {"-t", TABLE, CHAIN, MATCH...}.
// Made by create, removed by remove: masquerading out of the subnet (not for --internal),
// and forwarding to and from the bridge.
std::vector<std::vector<std::string>> network_rules(const NetworkRecord& network);

// Fails with "port is already allocated" when host_ip:host_port cannot be bound now;
// picks a free port for host_port 0. Returns the mapping with its port.
// reuse_address: SO_REUSEADDR, as the forwarder that will listen (slirp4netns) sets it, so
// that connections of a previous run in TIME_WAIT do not count as the port being in use.
PortMapping reserve_host_port(PortMapping mapping, bool reuse_address = false);

}  // namespace berth::engine
