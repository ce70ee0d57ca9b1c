// A container as the state database records it: what it was created from (config, a JSON
// document kept as given so that inspect shows it and a restart reuses it) and what it is
// doing now (state, written by the CLI and by the container's monitor).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace berth::engine {

enum class Status { created, running, paused, exited, dead };
std::string to_string(Status status);
Status parse_status(const std::string& text);

struct ContainerState {
    Status status = Status::created;
    int64_t pid = 0;          // the container's init on the host, 0 when not running
    int64_t pid_start = 0;    // its start time (/proc/PID/stat), so a reused pid is not it
    int64_t monitor_pid = 0;  // the monitor, 0 when none
    int64_t monitor_start = 0;
    int64_t exit_code = 0;
    bool oom_killed = false;
    std::string started_at;   // RFC 3339, empty when never
    std::string finished_at;  // RFC 3339, empty when never
    int64_t restart_count = 0;
    bool stopped_by_user = false;  // stop/kill: the restart policy does not apply
    std::string health;            // "", "starting", "healthy", "unhealthy"
    int64_t failing_streak = 0;
    std::string error;  // why the last start failed
};

struct ContainerRecord {
    std::string id;  // 64 hex digits
    std::string name;
    std::string image;      // as the user named it
    std::string image_id;   // the manifest digest
    std::string created;    // RFC 3339
    nlohmann::json config;  // see container_config.hpp for its fields
    ContainerState state;
};

}  // namespace berth::engine
