// Engine::start: networks (a network namespace kept at a path, CNI ADD, /etc/hosts), then
// the monitor, which creates and starts the container through the runtime.
#include <fcntl.h>

#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/path.hpp"
#include "common/strings.hpp"
#include "engine/engine.hpp"
#include "engine/monitor/config.hpp"
#include "engine/monitor/console_socket.hpp"
#include "engine/monitor/launch.hpp"
#include "engine/monitor/monitor.hpp"
#include "engine/network/etc_files.hpp"
#include "engine/network/netns.hpp"
#include "engine/network/slirp4netns.hpp"
#include "engine/process_identity.hpp"
#include "engine/rootless/namespace.hpp"
#include "image/rootfs.hpp"

namespace berth::engine {
namespace {

// The monitor's "error CODE MESSAGE" line as the exception run and start throw.
void throw_start_error(const std::string& line) {
    if (!line.starts_with("error ")) return;
    size_t space = line.find(' ', 6);
    int code = static_cast<int>(parse_uint64(line.substr(6, space - 6)).value_or(1));
    std::string message = space == std::string::npos ? "" : line.substr(space + 1);
    if (code == 126 || code == 127) throw StartError(code, message);
    throw Error(message);
}

bool uses_cni(const std::string& network) {
    return network != "none" && network != "host" && !network.starts_with("container:") &&
           network != kSlirp4netnsNetwork;
}

}  // namespace

void Engine::write_peer_hosts(const ContainerRecord& record, bool present) {
    // Containers on the same user network (not the default one, as docker) see each other
    // by name: each one's /etc/hosts lists the others.
    const auto attachments = record.config.value("attachments", nlohmann::json::object());
    if (attachments.empty()) return;
    std::vector<HostEntry> mine;
    for (const auto& other : db_.list()) {
        if (other.id == record.id || other.state.status != Status::running) continue;
        const auto theirs = other.config.value("attachments", nlohmann::json::object());
        for (const auto& [network, a] : attachments.items()) {
            if (network == "bridge" || network == kSlirp4netnsNetwork || !theirs.contains(network))
                continue;
            std::string their_ip = theirs[network].value("ip", "");
            std::vector<std::string> names = {record.name};
            for (const auto& alias : record.config.value("aliases", std::vector<std::string>{}))
                names.push_back(alias);
            update_hosts_entry(paths_.container_dir(other.id) + "/hosts",
                               {present ? a.value("ip", "") : "", names});
            if (present) mine.push_back({their_ip, {other.name}});
        }
    }
    if (!present) return;
    std::vector<HostEntry> entries;
    for (const auto& [network, a] : attachments.items()) {
        entries.push_back({a.value("ip", ""), {record.config.value("hostname", ""), record.name}});
        break;
    }
    entries.insert(entries.end(), mine.begin(), mine.end());
    write_hosts(paths_.container_dir(record.id) + "/hosts", entries);
}

// Host ports: refused when something holds them, or another container publishes them.
std::vector<PortMapping> Engine::reserve_ports(const ContainerRecord& record, bool reuse_address) {
    std::vector<PortMapping> ports;
    for (const auto& p : record.config.value("ports", nlohmann::json::array())) {
        PortMapping wanted = port_from_json(p);
        for (const auto& other : db_.list()) {
            if (other.id == record.id || other.state.status != Status::running) continue;
            const nlohmann::json theirs =
                other.config.value("attachments", nlohmann::json::object());
            for (const auto& [_, a] : theirs.items())
                for (const auto& op : a.value("ports", nlohmann::json::array()))
                    if (wanted.host_port != 0 && op.value("host_port", 0) == wanted.host_port &&
                        op.value("protocol", "tcp") == wanted.protocol)
                        throw Error("cannot publish port " + std::to_string(wanted.host_port) +
                                    "/" + wanted.protocol + ": port is already allocated");
        }
        ports.push_back(reserve_host_port(wanted, reuse_address));
    }
    return ports;
}

std::optional<NetworkRecord> Engine::connect_networks(ContainerRecord& record) {
    nlohmann::json& c = record.config;
    std::string network = c.value("network", "bridge");
    std::string dir = paths_.container_dir(record.id);
    if (network.starts_with("container:")) {
        ContainerRecord other = find(network.substr(10));
        if (other.state.status != Status::running)
            throw Error("cannot join the network of container " + other.name +
                        ": it is not running");
        auto spec = nlohmann::ordered_json::parse(read_file(dir + "/config.json"));
        for (auto& ns : spec["linux"]["namespaces"])
            if (ns["type"] == "network")
                ns["path"] = "/proc/" + std::to_string(other.state.pid) + "/ns/net";
        write_file_atomic(dir + "/config.json", spec.dump(2));
        write_file(dir + "/hosts", read_file(paths_.container_dir(other.id) + "/hosts"));
        return std::nullopt;
    }
    std::string netns = paths_.netns_path(record.id);
    if (network == kSlirp4netnsNetwork) {
        disconnect_networks(record);  // leftovers of a start that was killed midway
        // The attachment records the ports for `port` and for the other containers' checks;
        // the monitor's slirp4netns opens them.
        Attachment a;
        a.network = kSlirp4netnsNetwork;
        a.ifname = "tap0";
        a.ip = kSlirp4netnsGuestAddress;
        a.ports = reserve_ports(record, true);
        c["attachments"] = {{a.network, to_json(a)}};
        db_.update_config(record.id, c);
        create_netns(netns);
        return std::nullopt;
    }
    if (!uses_cni(network)) return std::nullopt;  // none: the runtime makes the namespace
    // Leftovers of a start that was killed midway go first.
    disconnect_networks(record);
    NetworkRecord net = networks_.get(network);
    std::vector<PortMapping> ports = reserve_ports(record, false);
    // Recorded before anything is made, so that an rm after a crash right here still
    // runs CNI DEL (which finds what to remove by the container id).
    Attachment pending;
    pending.network = net.name;
    pending.ifname = "eth0";
    pending.ports = ports;
    c["attachments"] = {{net.name, to_json(pending)}};
    db_.update_config(record.id, c);
    try {
        create_netns(netns);
    } catch (...) {
        disconnect_networks(record);
        throw;
    }
    return net;
}

void Engine::attach_network(ContainerRecord& record, const NetworkRecord& net) {
    nlohmann::json& c = record.config;
    std::string netns = paths_.netns_path(record.id);
    try {
        Attachment pending = attachment_from_json(c["attachments"][net.name]);
        Attachment a = networks_.attach(net, record.id, netns, "eth0", pending.ports);
        c["attachments"][net.name] = to_json(a);
        db_.update_config(record.id, c);
    } catch (...) {
        disconnect_networks(record);
        throw;
    }
}

// The monitor's network release (the gate's "go" line). On the default bridge alone the DEL
// touches no other container (no names in their /etc/hosts): the monitor runs it itself at
// the end, and no second berth process runs.
nlohmann::json Engine::network_release(const ContainerRecord& record) {
    const auto attachments = record.config.value("attachments", nlohmann::json::object());
    for (const auto& [name, _] : attachments.items())
        if (name != "bridge") return {{"local", false}};
    std::string netns = paths_.netns_path(record.id);
    nlohmann::json teardown = nlohmann::json::array();
    for (const auto& [name, a] : attachments.items())
        teardown.push_back(to_json(
            networks_.teardown(networks_.get(name), record.id, netns, attachment_from_json(a))));
    return {
        {"local", true}, {"netns", netns}, {"teardown", teardown}, {"attachments", attachments}};
}

void Engine::disconnect_networks(const ContainerRecord& record) {
    std::string netns = paths_.netns_path(record.id);
    const nlohmann::json attachments = record.config.value("attachments", nlohmann::json::object());
    for (const auto& [name, a] : attachments.items()) {
        try {
            NetworkRecord net = networks_.get(name);
            networks_.detach(net, record.id, netns, attachment_from_json(a));
        } catch (const Error&) {  // NOLINT(bugprone-empty-catch): the network is gone already
        }
    }
    if (!record.config.value("attachments", nlohmann::json::object()).empty()) {
        write_peer_hosts(record, false);
        nlohmann::json c = record.config;
        c["attachments"] = nlohmann::json::object();
        db_.update_config(record.id, c);
    }
    remove_netns(netns);
    // Left by a monitor killed with SIGKILL (its slirp4netns died with it).
    ::unlink(paths_.slirp4netns_socket(record.id).c_str());
}

// Rootless: the rootfs overlay lives in the pause process's mount namespace; after that
// process was killed, the next berth makes a new one without it, and start mounts it again
// (the upper directory kept the container's changes).
void Engine::remount_lost_rootfs(const ContainerRecord& record) {
    std::string dir = paths_.container_dir(record.id);
    struct stat container {
    }, rootfs{};
    if (::stat(dir.c_str(), &container) != 0 || ::stat((dir + "/rootfs").c_str(), &rootfs) != 0)
        return;
    if (rootfs.st_dev != container.st_dev || ::access((dir + "/upper").c_str(), F_OK) != 0)
        return;  // mounted, or a copy
    auto found = images_.try_find(record.image_id, settings_);
    if (!found)
        throw Error("container " + record.name + ": its image " + record.image_id +
                    " is gone, the rootfs cannot be mounted again");
    image::Image img = images_.load(*found);
    image::prepare_rootfs(images_, img, dir + "/rootfs", dir, image::RootfsMode::overlay).release();
}

void Engine::start(const std::string& name_or_id, const StartOptions& options) {
    ContainerRecord record = find(name_or_id);
    if (record.state.status == Status::running || record.state.status == Status::paused) {
        if (options.attach) throw Error("container " + record.name + " is already running");
        return;
    }
    // The last run's monitor may still be cleaning up (stop and wait return at the exit).
    for (int i = 0; i < 1000 && record.state.monitor_pid &&
                    process_alive(record.state.monitor_pid, record.state.monitor_start);
         ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (record.state.monitor_pid &&
        process_alive(record.state.monitor_pid, record.state.monitor_start))
        throw Error("container " + record.name + " is being started or cleaned up");
    db_.modify_state(record.id, [](ContainerState& s) {
        s.stopped_by_user = false;
        s.error.clear();
    });
    if (rootless()) remount_lost_rootfs(record);
    // A CNI network's ADD (its plugins take tens of milliseconds) runs below, while the
    // monitor has the runtime create the container; the monitor starts it once told so.
    std::optional<NetworkRecord> cni = connect_networks(record);
    if (!cni) write_peer_hosts(record, true);

    const nlohmann::json& c = record.config;
    std::string dir = paths_.container_dir(record.id);
    MonitorConfig mc;
    mc.id = record.id;
    mc.state_db = paths_.root + "/state.db";
    mc.bundle = dir;
    mc.runtime = runtime_for(record);
    mc.runtime_root = paths_.runtime_state;
    mc.terminal = c.value("tty", false);
    if (mc.terminal) {
        // sockaddr_un holds 108 bytes: the container directory may be deeper than that.
        ::mkdir(parent_path(paths_.run).c_str(), 0711);
        ::mkdir(paths_.run.c_str(), 0700);
        ::mkdir((paths_.run + "/console").c_str(), 0700);
        mc.console_socket = paths_.run + "/console/" + record.id + ".sock";
    }
    mc.open_stdin = c.value("interactive", false);
    mc.wait_for_attach = options.attach;
    mc.log_path = dir + "/container.log";
    mc.restart.name = c.value("restart", nlohmann::json::object()).value("name", "no");
    mc.restart.max_retries =
        c.value("restart", nlohmann::json::object()).value("max_retries", int64_t{0});
    const auto health = c.value("health", nlohmann::json::object());
    mc.health.command = health.value("command", std::vector<std::string>{});
    mc.health.interval_ms = health.value("interval_ms", mc.health.interval_ms);
    mc.health.timeout_ms = health.value("timeout_ms", mc.health.timeout_ms);
    mc.health.retries = health.value("retries", mc.health.retries);
    mc.memory_cgroup = "/sys/fs/cgroup/memory/berth/" + record.id + "/container";
    mc.cleanup = cleanup_command(record.id);
    std::string network = c.value("network", "bridge");
    mc.local_cleanup = !uses_cni(network);
    mc.network_gate = cni.has_value();
    if (network == kSlirp4netnsNetwork) mc.netns = paths_.netns_path(record.id);
    if (network == kSlirp4netnsNetwork) {
        mc.slirp4netns = c.value("slirp4netns", std::string(kSlirp4netnsNetwork));
        mc.slirp4netns_api_socket = paths_.slirp4netns_socket(record.id);
        ::mkdir(parent_path(mc.slirp4netns_api_socket).c_str(), 0700);
        const auto attachments = c.value("attachments", nlohmann::json::object());
        if (attachments.contains(kSlirp4netnsNetwork))
            for (const auto& p :
                 attachments[kSlirp4netnsNetwork].value("ports", nlohmann::json::array()))
                mc.forwarded_ports.push_back({p.value("protocol", "tcp"), p.value("host_ip", ""),
                                              p.value("host_port", int64_t{0}),
                                              p.value("container_port", int64_t{0})});
    }
    mc.autoremove = c.value("autoremove", false);
    mc.seccomp_record = c.value("seccomp_record", "");
    if (!mc.seccomp_record.empty()) {
        mc.seccomp_listener = paths_.seccomp_listener(record.id);
        ::mkdir(parent_path(paths_.run).c_str(), 0711);
        ::mkdir(paths_.run.c_str(), 0700);
        ::mkdir(parent_path(mc.seccomp_listener).c_str(), 0700);
    }
    TeardownPlan plan = teardown_plan(record, true);
    mc.volume_dirs = plan.volume_dirs;
    mc.volume_names = plan.volume_names;

    UniqueFd sync, gate_write;
    try {
        if (!early_monitor_) spawn_monitor_early();
        sync = early_monitor_->configure(mc, gate_write);
        early_monitor_.reset();
    } catch (...) {
        early_monitor_.reset();
        cleanup(record.id);
        throw;
    }
    if (cni) {
        std::string gate_line;
        try {
            attach_network(record, *cni);
            write_peer_hosts(record, true);
            gate_line = "go " + network_release(record).dump() + "\n";
        } catch (const std::exception& e) {
            // The monitor deletes what the runtime created and runs the cleanup command
            // (the row's attachments tell it what to release); run removes the container.
            std::string why = e.what();
            std::replace(why.begin(), why.end(), '\n', ' ');
            write_to_pipe(gate_write.get(), "abort " + why + "\n");
            gate_write.reset();
            // Its error line comes once that is done: whatever the caller does next (rm) must
            // not race the runtime's create.
            std::string line = read_sync_line(sync.get());
            while (line == "created")
                line = read_sync_line(sync.get());
            throw;
        }
        // A monitor that is gone has reported why on the sync pipe, read below.
        write_to_pipe(gate_write.get(), gate_line);
        gate_write.reset();
    }
    std::string line = read_sync_line(sync.get());
    if (line == "created" && options.attach) {
        pending_starts_[record.id] = std::move(sync);
        return;
    }
    if (line == "created") line = read_sync_line(sync.get());
    if (line == "started") return;
    throw_start_error(line);
    throw Error("the monitor of container " + record.name + " exited before the start (see " + dir +
                "/runtime.log)");
}

void Engine::spawn_monitor_early() {
    early_monitor_.emplace(helper_program("berth-monitor"), paths_.root);
}

int Engine::connect_attach(const std::string& id) {
    return connect_unix(paths_.container_dir(id) + "/attach.sock").release();
}

void Engine::finish_attached_start(const std::string& id) {
    auto it = pending_starts_.find(id);
    if (it == pending_starts_.end()) return;
    UniqueFd sync = std::move(it->second);
    pending_starts_.erase(it);
    std::string line = read_sync_line(sync.get());
    if (line == "started") return;
    throw_start_error(line);
    throw Error("the container's monitor exited before the start");
}

void Engine::connect(const std::string& network, const std::string& name_or_id) {
    ContainerRecord record = find(name_or_id);
    if (record.state.status != Status::running)
        throw Error("container " + record.name + " is not running");
    if (!uses_cni(record.config.value("network", "bridge")))
        throw Error("container " + record.name + " has no bridge network to add to");
    NetworkRecord net = networks_.get(network);
    nlohmann::json& c = record.config;
    if (c["attachments"].contains(net.name))
        throw Error("container " + record.name + " is already on network " + net.name);
    Attachment pending;
    pending.network = net.name;
    pending.ifname = "eth" + std::to_string(c["attachments"].size());
    c["attachments"][net.name] = to_json(pending);
    db_.update_config(record.id, c);
    try {
        Attachment a =
            networks_.attach(net, record.id, paths_.netns_path(record.id), pending.ifname, {});
        c["attachments"][net.name] = to_json(a);
        db_.update_config(record.id, c);
    } catch (...) {
        networks_.detach(net, record.id, paths_.netns_path(record.id), pending);
        c["attachments"].erase(net.name);
        db_.update_config(record.id, c);
        throw;
    }
    // Its name on the new network, for the others; theirs, for it.
    const nlohmann::json& mine = c["attachments"][net.name];
    for (const auto& other : db_.list()) {
        if (other.id == record.id || other.state.status != Status::running) continue;
        const nlohmann::json theirs = other.config.value("attachments", nlohmann::json::object());
        if (!theirs.contains(net.name) || net.name == "bridge") continue;
        update_hosts_entry(paths_.container_dir(other.id) + "/hosts",
                           {mine.value("ip", ""), {record.name}});
        update_hosts_entry(paths_.container_dir(record.id) + "/hosts",
                           {theirs[net.name].value("ip", ""), {other.name}});
    }
}

void Engine::disconnect(const std::string& network, const std::string& name_or_id) {
    ContainerRecord record = find(name_or_id);
    NetworkRecord net = networks_.get(network);
    nlohmann::json& c = record.config;
    if (!c.value("attachments", nlohmann::json::object()).contains(net.name))
        throw Error("container " + record.name + " is not on network " + net.name);
    std::string error = networks_.detach(net, record.id, paths_.netns_path(record.id),
                                         attachment_from_json(c["attachments"][net.name]));
    c["attachments"].erase(net.name);
    db_.update_config(record.id, c);
    for (const auto& other : db_.list()) {
        if (other.id == record.id) continue;
        const nlohmann::json theirs = other.config.value("attachments", nlohmann::json::object());
        if (!theirs.contains(net.name)) continue;
        update_hosts_entry(paths_.container_dir(other.id) + "/hosts", {"", {record.name}});
        update_hosts_entry(paths_.container_dir(record.id) + "/hosts", {"", {other.name}});
    }
    if (!error.empty()) throw Error(error);
}

}  // namespace berth::engine
