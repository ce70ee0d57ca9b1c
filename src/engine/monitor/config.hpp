// What a container's monitor is told when it starts: sent by the CLI as JSON on the
// monitor's fd 5 (engine/monitor/launch.hpp), read by the monitor before anything else.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/network/cni.hpp"
#include "engine/network/slirp4netns.hpp"

namespace berth::engine {

struct RestartPolicy {
    std::string name = "no";  // no, on-failure, always, unless-stopped
    int64_t max_retries = 0;  // on-failure:N (0: unlimited)
};

// docker's --restart text; throws Error on anything else.
RestartPolicy parse_restart_policy(const std::string& text);

struct HealthCheck {
    std::vector<std::string> command;  // run with exec in the container; empty: none
    int64_t interval_ms = 30000;
    int64_t timeout_ms = 30000;
    int64_t retries = 3;
    int64_t start_period_ms = 0;
};

struct MonitorConfig {
    std::string id;
    std::string state_db;          // <root>/state.db
    std::string bundle;            // the container directory (config.json, rootfs)
    std::string runtime;           // the OCI runtime's path
    std::string runtime_root;      // its --root
    bool terminal = false;         // a pty instead of pipes
    std::string console_socket;    // where the runtime sends the pty (a short path)
    bool open_stdin = false;       // -i: stdin stays open for attach clients
    bool wait_for_attach = false;  // start only once a client attached (attached run/start)
    std::string log_path;
    int64_t log_max_size = 10 * 1024 * 1024;
    RestartPolicy restart;
    HealthCheck health;
    std::string memory_cgroup;  // the v1 memory cgroup directory, for OOM kills
    // Once the container is done for good: without CNI networks the monitor cleans up
    // itself (netns, and with --rm the files); otherwise it runs the cleanup command.
    std::vector<std::string> cleanup;
    bool local_cleanup = false;
    std::string netns;  // the namespace's mount point, removed by a local cleanup
    // A CNI network: the CLI runs its ADD while the runtime creates the container, and
    // then writes one line on the monitor's fd 4 (the gate): `abort MESSAGE`, or `go JSON`
    // with what the cleanup releases (Engine::network_release). Only then the start.
    bool network_gate = false;
    // From the gate, for the default bridge: a local cleanup runs these DELs itself (no
    // other container's /etc/hosts names this one), as long as the row's attachments are
    // still these; after a network connect or disconnect it runs the cleanup command.
    std::vector<CniTeardown> cni_teardown;
    nlohmann::json cni_attachments = nlohmann::json::object();
    bool autoremove = false;
    std::vector<std::string> volume_dirs, volume_names;  // anonymous volumes, for --rm
    // Rootless: slirp4netns (the program; "" for none) serves netns while the monitor runs,
    // and forwards these ports through its API socket.
    std::string slirp4netns;
    std::string slirp4netns_api_socket;
    std::vector<ForwardedPort> forwarded_ports;
    // --security-opt seccomp=record:FILE: the profile's file, and the socket the runtime
    // sends the seccomp listener to (monitor/seccomp_recorder.hpp).
    std::string seccomp_record;
    std::string seccomp_listener;

    [[nodiscard]] nlohmann::json to_json() const;
    static MonitorConfig from_json(const nlohmann::json& doc);
};

}  // namespace berth::engine
