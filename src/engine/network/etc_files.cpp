#include "engine/network/etc_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "common/file.hpp"
#include "common/strings.hpp"

namespace berth::engine {
namespace {

constexpr std::string_view kLocalhost =
    "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";

std::string line_of(const HostEntry& e) {
    return e.ip + "\t" + join(e.names, " ") + "\n";
}

// Rewrites in place: O_TRUNC keeps the inode that the container's bind mount shows.
void rewrite(const std::string& path, const std::string& text) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) return;
    write_all(fd.get(), text, path);
}

}  // namespace

void write_hosts(const std::string& path, const std::vector<HostEntry>& entries) {
    std::string text(kLocalhost);
    for (const auto& e : entries)
        text += line_of(e);
    rewrite(path, text);
}

void update_hosts_entry(const std::string& path, const HostEntry& entry) {
    auto text = read_file_if_exists(path);
    if (!text || entry.names.empty()) return;
    std::string out;
    for (const auto& line : split(*text, '\n')) {
        if (line.empty()) continue;
        std::vector<std::string> fields;
        for (const auto& f : split(line, '\t'))
            fields.push_back(f);
        bool same = fields.size() == 2 && split(fields[1], ' ').front() == entry.names.front();
        if (!same) out += line + "\n";
    }
    if (!entry.ip.empty()) out += line_of(entry);
    rewrite(path, out);
}

void write_resolv_conf(const std::string& path, bool host_network,
                       const std::string& only_nameserver) {
    std::string host = read_file_if_exists("/etc/resolv.conf").value_or("");
    if (host_network) {
        rewrite(path, host);
        return;
    }
    if (!only_nameserver.empty()) {
        // The host's search and options lines, with the one nameserver given.
        std::string out = "nameserver " + only_nameserver + "\n";
        for (const auto& line : split(host, '\n')) {
            std::string_view t = trim(line);
            if (!t.empty() && !t.starts_with("nameserver")) out += std::string(t) + "\n";
        }
        rewrite(path, out);
        return;
    }
    std::string out;
    bool nameserver = false;
    for (const auto& line : split(host, '\n')) {
        std::string_view t = trim(line);
        if (t.starts_with("nameserver")) {
            std::string_view address = trim(t.substr(10));
            if (address.starts_with("127.") || address == "::1") continue;
            nameserver = true;
        }
        if (!t.empty()) out += std::string(t) + "\n";
    }
    if (!nameserver) out += "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";
    rewrite(path, out);
}

void write_hostname(const std::string& path, const std::string& hostname) {
    rewrite(path, hostname + "\n");
}

}  // namespace berth::engine
