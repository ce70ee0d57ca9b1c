// The image configuration (OCI image-spec config.md; Docker's image JSON has the same fields
// berth reads). Strictly typed; unknown fields are ignored, as the spec requires.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest.hpp"

namespace berth::oci {

// Docker's Healthcheck (durations in nanoseconds; 0: the default). Test: {"NONE"},
// {"CMD", args...} or {"CMD-SHELL", command}.
struct HealthConfig {
    std::vector<std::string> test;
    int64_t interval = 0;
    int64_t timeout = 0;
    int64_t start_period = 0;
    int64_t start_interval = 0;
    int64_t retries = 0;
    friend bool operator==(const HealthConfig&, const HealthConfig&) = default;
};

struct ContainerConfig {
    std::string user;
    std::vector<std::string> exposed_ports;  // "80/tcp"
    std::vector<std::string> env;
    std::vector<std::string> entrypoint;
    std::vector<std::string> cmd;
    std::vector<std::string> volumes;
    std::string working_dir;
    std::map<std::string, std::string> labels;
    std::string stop_signal;
    // Docker's extensions, which builds write (and the OCI format keeps, as BuildKit's does).
    std::optional<HealthConfig> healthcheck;
    std::vector<std::string> on_build;
    std::vector<std::string> shell;
};

struct HistoryEntry {
    std::string created;
    std::string created_by;
    std::string author;
    std::string comment;
    bool empty_layer = false;
};

struct ImageConfig {
    std::string created;
    std::string author;
    std::string architecture;
    std::string os;
    std::string os_version;
    std::string variant;
    ContainerConfig config;
    std::vector<Digest> diff_ids;  // rootfs.diff_ids, base layer first
    std::vector<HistoryEntry> history;
};

// Throws InvalidDocument naming `what` and the field.
ImageConfig parse_image_config(std::string_view bytes, std::string_view what);
nlohmann::ordered_json to_json(const ImageConfig& config);

}  // namespace berth::oci
