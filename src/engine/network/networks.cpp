#include "engine/network/networks.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <set>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/file.hpp"
#include "common/remove_tree.hpp"
#include "common/strings.hpp"
#include "common/time.hpp"
#include "common/unique_fd.hpp"
#include "engine/container/names.hpp"
#include "engine/network/cni.hpp"
#include "engine/subprocess.hpp"

namespace berth::engine {
namespace {

constexpr std::string_view kSchema = R"(
CREATE TABLE IF NOT EXISTS networks (
  name TEXT PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  subnet TEXT NOT NULL,
  gateway TEXT NOT NULL,
  bridge TEXT NOT NULL,
  created TEXT NOT NULL,
  internal INTEGER NOT NULL DEFAULT 0,
  labels TEXT NOT NULL DEFAULT '{}'
);
)";

struct Cidr {
    uint32_t address = 0;  // host order
    int prefix = 0;
};

std::optional<Cidr> parse_cidr(const std::string& text) {
    size_t slash = text.find('/');
    if (slash == std::string::npos) return std::nullopt;
    in_addr a{};
    if (::inet_pton(AF_INET, text.substr(0, slash).c_str(), &a) != 1) return std::nullopt;
    auto prefix = parse_uint64(text.substr(slash + 1));
    if (!prefix || *prefix < 8 || *prefix > 30) return std::nullopt;
    Cidr c{ntohl(a.s_addr), static_cast<int>(*prefix)};
    uint32_t mask = ~0U << (32 - c.prefix);
    c.address &= mask;
    return c;
}

std::string format_ip(uint32_t host_order) {
    in_addr a{htonl(host_order)};
    char buffer[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &a, buffer, sizeof buffer);
    return buffer;
}

bool overlaps(const Cidr& a, const Cidr& b) {
    int prefix = std::min(a.prefix, b.prefix);
    uint32_t mask = prefix == 0 ? 0 : ~0U << (32 - prefix);
    return (a.address & mask) == (b.address & mask);
}

// Subnets the host routes already (/proc/net/route), so a new bridge does not shadow them.
std::vector<Cidr> routed_subnets() {
    std::vector<Cidr> out;
    auto text = read_file_if_exists("/proc/net/route");
    if (!text) return out;
    for (const auto& line : split(*text, '\n')) {
        std::vector<std::string> f;
        for (const auto& part : split(line, '\t'))
            if (!part.empty()) f.emplace_back(trim(part));
        if (f.size() < 8 || f[0] == "Iface") continue;
        uint32_t dest = static_cast<uint32_t>(std::stoul(f[1], nullptr, 16));
        uint32_t mask = static_cast<uint32_t>(std::stoul(f[7], nullptr, 16));
        if (mask == 0) continue;  // the default route
        int prefix = __builtin_popcount(mask);
        out.push_back({ntohl(dest), prefix});
    }
    return out;
}

// The subnet routed on a link (a bridge left by a removed root), if any.
std::optional<Cidr> subnet_routed_on(const std::string& link) {
    auto text = read_file_if_exists("/proc/net/route");
    if (!text) return std::nullopt;
    for (const auto& line : split(*text, '\n')) {
        std::vector<std::string> f;
        for (const auto& part : split(line, '\t'))
            if (!part.empty()) f.emplace_back(trim(part));
        if (f.size() < 8 || f[0] != link) continue;
        uint32_t dest = static_cast<uint32_t>(std::stoul(f[1], nullptr, 16));
        uint32_t mask = static_cast<uint32_t>(std::stoul(f[7], nullptr, 16));
        if (mask == 0) continue;
        return Cidr{ntohl(dest), __builtin_popcount(mask)};
    }
    return std::nullopt;
}

NetworkRecord read_row(image::Statement& st) {
    return {st.text(0),         st.text(1),
            st.text(2),         st.text(3),
            st.text(4),         st.text(5),
            st.integer(6) != 0, nlohmann::json::parse(st.text(7), nullptr, false)};
}

constexpr std::string_view kColumns =
    "name, id, subnet, gateway, bridge, created, internal, labels";

}  // namespace

nlohmann::json to_json(const Attachment& a) {
    nlohmann::json ports = nlohmann::json::array();
    for (const auto& p : a.ports)
        ports.push_back(to_json(p));
    return {{"network", a.network}, {"ifname", a.ifname}, {"ip", a.ip},
            {"gateway", a.gateway}, {"mac", a.mac},       {"ports", ports},
            {"result", a.result}};
}

Attachment attachment_from_json(const nlohmann::json& j) {
    Attachment a;
    a.network = j.value("network", "");
    a.ifname = j.value("ifname", "eth0");
    a.ip = j.value("ip", "");
    a.gateway = j.value("gateway", "");
    a.mac = j.value("mac", "");
    for (const auto& p : j.value("ports", nlohmann::json::array()))
        a.ports.push_back(port_from_json(p));
    a.result = j.value("result", nlohmann::json::object());
    return a;
}

Networks::Networks(const EnginePaths& paths, image::Database& db) : paths_(paths), db_(db) {
    db_.exec(kSchema);
}

std::string Networks::free_subnet() {
    std::vector<Cidr> taken = routed_subnets();
    for (const auto& n : list())
        if (auto c = parse_cidr(n.subnet)) taken.push_back(*c);
    for (uint32_t third = 0; third < 256; ++third) {
        Cidr candidate{(10U << 24) | (89U << 16) | (third << 8), 24};
        bool free = true;
        for (const auto& t : taken)
            free = free && !overlaps(candidate, t);
        if (free) return format_ip(candidate.address) + "/24";
    }
    throw Error("no free subnet in 10.89.0.0/16: name one with --subnet");
}

NetworkRecord Networks::create(const std::string& name, const NetworkCreateOptions& options) {
    if (!valid_name(name)) throw Error("invalid network name \"" + name + "\"");
    if (name == "host" || name == "none") throw Error("network name \"" + name + "\" is reserved");
    {
        image::Statement st = db_.prepare("SELECT name FROM networks WHERE name = ?1");
        st.bind(1, name);
        if (st.step()) throw Error("network " + name + " already exists");
    }
    NetworkRecord r;
    r.name = name;
    r.id = random_hex(32);
    // Bridge names: at most 15 characters; the default network's names the berth root
    // so that two roots on one host never share a bridge.
    r.bridge = name == "bridge" ? "berth" + paths_.run.substr(paths_.run.size() - 8)
                                : "br-" + r.id.substr(0, 12);
    std::string subnet = options.subnet;
    if (subnet.empty() && name == "bridge") {
        // A root removed and made again at the same path finds its bridge still there (as
        // docker0 outlives dockerd), with the subnet it had: the network takes it again
        // (CNI's bridge plugin refuses a bridge whose address is not the gateway's).
        if (auto kept = subnet_routed_on(r.bridge))
            subnet = format_ip(kept->address) + "/" + std::to_string(kept->prefix);
    }
    if (subnet.empty()) subnet = free_subnet();
    auto cidr = parse_cidr(subnet);
    if (!cidr) throw Error("invalid subnet \"" + subnet + "\": expected an IPv4 a.b.c.d/n, n 8-30");
    for (const auto& n : list())
        if (auto other = parse_cidr(n.subnet); other && overlaps(*cidr, *other))
            throw Error("subnet " + subnet + " overlaps network " + n.name + " (" + n.subnet + ")");
    r.subnet = format_ip(cidr->address) + "/" + std::to_string(cidr->prefix);
    r.gateway = options.gateway.empty() ? format_ip(cidr->address + 1) : options.gateway;
    r.created = rfc3339_now();
    r.internal = options.internal;
    r.labels = options.labels;
    image::Statement st = db_.prepare("INSERT INTO networks (" + std::string(kColumns) +
                                      ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    st.bind(1, r.name).bind(2, r.id).bind(3, r.subnet).bind(4, r.gateway).bind(5, r.bridge);
    st.bind(6, r.created).bind(7, int64_t{r.internal}).bind(8, r.labels.dump());
    try {
        st.run();
    } catch (const Error&) {
        throw Error("network " + name + " already exists");
    }
    try {
        install_rules(r);
    } catch (...) {
        remove_rules(r);
        image::Statement undo = db_.prepare("DELETE FROM networks WHERE name = ?1");
        undo.bind(1, r.name);
        undo.run();
        throw;
    }
    return r;
}

NetworkRecord Networks::get(const std::string& name_or_id) {
    {
        image::Statement st = db_.prepare("SELECT " + std::string(kColumns) +
                                          " FROM networks WHERE name = ?1 OR id = ?1");
        st.bind(1, name_or_id);
        if (st.step()) return read_row(st);
    }
    if (name_or_id.size() >= 3) {
        image::Statement st = db_.prepare("SELECT " + std::string(kColumns) +
                                          " FROM networks WHERE substr(id, 1, ?2) = ?1");
        st.bind(1, name_or_id).bind(2, static_cast<int64_t>(name_or_id.size()));
        if (st.step()) return read_row(st);
    }
    if (name_or_id == "bridge") {
        try {
            return create("bridge");
        } catch (const Error&) {
            return get(name_or_id);  // made by someone else meanwhile
        }
    }
    throw Error("network " + name_or_id + " not found");
}

std::vector<NetworkRecord> Networks::list() {
    image::Statement st =
        db_.prepare("SELECT " + std::string(kColumns) + " FROM networks ORDER BY name");
    std::vector<NetworkRecord> out;
    while (st.step())
        out.push_back(read_row(st));
    return out;
}

void Networks::remove(const NetworkRecord& network) {
    // The bridge (its veths went with each container's DEL) and the leases directory.
    if (::if_nametoindex(network.bridge.c_str()) != 0)
        run_subprocess({"ip", "link", "delete", network.bridge});
    remove_rules(network);
    remove_tree(paths_.cni_leases + "/" + network.name);
    image::Statement st = db_.prepare("DELETE FROM networks WHERE name = ?1");
    st.bind(1, network.name);
    st.run();
}

// Per container, only the bridge plugin (a veth, an address) and, when it publishes ports,
// portmap: the masquerading and forwarding rules are the network's (network_rules), made
// once with it, instead of iptables runs in every container's ADD and DEL.
nlohmann::json Networks::conflist(const NetworkRecord& n, bool ports) const {
    nlohmann::json bridge = {
        {"type", "bridge"},
        {"bridge", n.bridge},
        {"isGateway", !n.internal},
        {"ipMasq", false},
        {"hairpinMode", true},
        {"ipam",
         {{"type", "host-local"},
          {"ranges", {{{{"subnet", n.subnet}, {"gateway", n.gateway}}}}},
          {"routes",
           n.internal ? nlohmann::json::array() : nlohmann::json::array({{{"dst", "0.0.0.0/0"}}})},
          {"dataDir", paths_.cni_leases}}}};
    nlohmann::json plugins = nlohmann::json::array({bridge});
    if (ports) plugins.push_back({{"type", "portmap"}, {"capabilities", {{"portMappings", true}}}});
    return {{"cniVersion", "1.0.0"}, {"name", n.name}, {"plugins", plugins}};
}

std::vector<std::vector<std::string>> network_rules(const NetworkRecord& n) {
    std::string tag = "berth network " + n.id.substr(0, 12);
    std::vector<std::vector<std::string>> rules;
    if (!n.internal)
        rules.push_back({"-t", "nat", "POSTROUTING", "-s", n.subnet, "!", "-d", n.subnet, "-m",
                         "comment", "--comment", tag, "-j", "MASQUERADE"});
    // Ahead of a DROP policy or docker's chains: the bridge's own traffic and replies.
    rules.push_back({"-t", "filter", "FORWARD", "-i", n.bridge, "-m", "comment", "--comment", tag,
                     "-j", "ACCEPT"});
    rules.push_back({"-t", "filter", "FORWARD", "-o", n.bridge, "-m", "conntrack", "--ctstate",
                     "RELATED,ESTABLISHED", "-m", "comment", "--comment", tag, "-j", "ACCEPT"});
    return rules;
}

namespace {

// iptables -w -t TABLE ACTION CHAIN RULE...
SubprocessResult iptables(const std::vector<std::string>& rule, const std::string& action) {
    std::vector<std::string> argv = {"iptables", "-w", rule[0], rule[1], action, rule[2]};
    argv.insert(argv.end(), rule.begin() + 3, rule.end());
    SubprocessOptions options;
    options.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
    return run_subprocess(argv, options);
}

}  // namespace

void Networks::install_rules(const NetworkRecord& n) {
    for (const auto& rule : network_rules(n)) {
        if (iptables(rule, "-C").exit_code == 0) continue;
        SubprocessResult r = iptables(rule, rule[2] == "FORWARD" ? "-I" : "-A");
        if (r.exit_code != 0)
            throw Error("iptables for network " + n.name + ": " + std::string(trim(r.err)));
    }
}

void Networks::remove_rules(const NetworkRecord& n) {
    for (const auto& rule : network_rules(n))
        while (iptables(rule, "-D").exit_code == 0) {
        }
}

nlohmann::json Networks::inspect(const NetworkRecord& n) const {
    return {{"Name", n.name},
            {"Id", n.id},
            {"Created", n.created},
            {"Driver", "bridge"},
            {"Internal", n.internal},
            {"IPAM", {{"Config", {{{"Subnet", n.subnet}, {"Gateway", n.gateway}}}}}},
            {"Options", {{"bridge", n.bridge}}},
            {"Labels", n.labels}};
}

// NOLINTNEXTLINE(readability-make-member-function-const): changes state outside the object
Attachment Networks::attach(const NetworkRecord& network, const std::string& container_id,
                            const std::string& netns, const std::string& ifname,
                            const std::vector<PortMapping>& ports) {
    CniRequest request{container_id, netns, ifname, nlohmann::json::object()};
    nlohmann::json mappings = nlohmann::json::array();
    for (const auto& p : ports) {
        nlohmann::json m = {{"hostPort", p.host_port},
                            {"containerPort", p.container_port},
                            {"protocol", p.protocol}};
        if (!p.host_ip.empty()) m["hostIP"] = p.host_ip;
        mappings.push_back(m);
    }
    request.runtime_config["portMappings"] = mappings;
    Attachment a;
    a.network = network.name;
    a.ifname = ifname;
    a.ports = ports;
    a.result = cni_add(conflist(network, !ports.empty()), request);
    for (const auto& ip : a.result.value("ips", nlohmann::json::array())) {
        std::string address = ip.value("address", "");
        a.ip = address.substr(0, address.find('/'));
        a.gateway = ip.value("gateway", "");
        break;
    }
    for (const auto& iface : a.result.value("interfaces", nlohmann::json::array()))
        if (iface.value("name", "") == ifname) a.mac = iface.value("mac", "");
    return a;
}

// NOLINTNEXTLINE(readability-make-member-function-const): changes state outside the object
std::string Networks::detach(const NetworkRecord& network, const std::string& container_id,
                             const std::string& netns, const Attachment& a) {
    return cni_del(teardown(network, container_id, netns, a));
}

CniTeardown Networks::teardown(const NetworkRecord& network, const std::string& container_id,
                               const std::string& netns, const Attachment& a) const {
    CniRequest request{container_id, netns, a.ifname, nlohmann::json::object()};
    nlohmann::json mappings = nlohmann::json::array();
    for (const auto& p : a.ports) {
        nlohmann::json m = {{"hostPort", p.host_port},
                            {"containerPort", p.container_port},
                            {"protocol", p.protocol}};
        if (!p.host_ip.empty()) m["hostIP"] = p.host_ip;
        mappings.push_back(m);
    }
    request.runtime_config["portMappings"] = mappings;
    nlohmann::json previous = a.result;
    if (previous.empty()) {
        // ADD never returned (killed midway): host-local's lease files name the container,
        // and the firewall plugin needs the addresses to find its rules.
        std::error_code ec;
        std::string dir = paths_.cni_leases + "/" + network.name;
        auto cidr = parse_cidr(network.subnet);
        nlohmann::json ips = nlohmann::json::array();
        for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
            auto text = read_file_if_exists(entry.path().string());
            if (!text || !text->starts_with(container_id)) continue;
            ips.push_back({{"address", entry.path().filename().string() + "/" +
                                           std::to_string(cidr ? cidr->prefix : 24)},
                           {"gateway", network.gateway}});
        }
        if (!ips.empty())
            previous = {
                {"cniVersion", "1.0.0"}, {"ips", ips}, {"interfaces", nlohmann::json::array()}};
    }
    return {conflist(network, !a.ports.empty()), request, previous};
}

PortMapping reserve_host_port(PortMapping m, bool reuse_address) {
    int type = m.protocol == "udp" ? SOCK_DGRAM : SOCK_STREAM;
    UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
    if (!fd) throw_errno("socket");
    int on = 1;
    if (reuse_address && type == SOCK_STREAM)
        ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(m.host_port);
    if (!m.host_ip.empty() && ::inet_pton(AF_INET, m.host_ip.c_str(), &addr.sin_addr) != 1)
        throw Error("invalid host IP \"" + m.host_ip + "\"");
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        if (errno == EADDRINUSE)
            throw Error("cannot publish port " + std::to_string(m.host_port) + "/" + m.protocol +
                        ": port is already allocated");
        throw_errno("cannot publish port " + std::to_string(m.host_port));
    }
    if (m.host_port == 0) {
        socklen_t len = sizeof addr;
        ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
        m.host_port = ntohs(addr.sin_port);
    }
    return m;
}

}  // namespace berth::engine
