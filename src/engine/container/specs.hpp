// The small languages of the command line, parsed strictly with one-line errors:
// -p publish specs, -v/--mount/--tmpfs mount specs, sizes ("512m"), durations ("30s"),
// signals ("SIGTERM", "15"), --ulimit and --device.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace berth::engine {

struct PortMapping {
    std::string host_ip;     // empty: every address
    uint16_t host_port = 0;  // 0: pick a free one
    uint16_t container_port = 0;
    std::string protocol = "tcp";
};
std::vector<PortMapping> parse_publish(const std::string& spec);
nlohmann::json to_json(const PortMapping& p);
PortMapping port_from_json(const nlohmann::json& j);

struct MountSpec {
    std::string type;    // bind, volume, tmpfs
    std::string source;  // host path, volume name (empty: anonymous), unused for tmpfs
    std::string destination;
    bool readonly = false;
    std::string tmpfs_options;  // size=..., mode=...
};
MountSpec parse_volume_flag(const std::string& spec);  // -v
MountSpec parse_mount_flag(const std::string& spec);   // --mount
MountSpec parse_tmpfs_flag(const std::string& spec);   // --tmpfs
nlohmann::json to_json(const MountSpec& m);
MountSpec mount_from_json(const nlohmann::json& j);

int64_t parse_size(const std::string& text);         // "512m", "1g", "100000" (bytes)
int64_t parse_duration_ms(const std::string& text);  // "30s", "1m30s", "500ms", "2h"
int parse_signal(const std::string& text);           // "TERM", "SIGTERM", "15"
std::string signal_name(int signal);

struct Ulimit {
    std::string type;  // RLIMIT_NOFILE
    uint64_t soft = 0, hard = 0;
};
Ulimit parse_ulimit(const std::string& text);  // nofile=1024[:2048]

// A valid container or volume name: [a-zA-Z0-9][a-zA-Z0-9_.-]*
bool valid_name(const std::string& name);

}  // namespace berth::engine
