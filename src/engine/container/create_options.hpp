// What `berth create`/`berth run` are asked for, as the CLI parsed it (text as typed); the
// engine validates all of it before it makes anything.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace berth::engine {

struct CreateOptions {
    std::string image;
    std::string name;
    std::vector<std::string> command;
    std::optional<std::vector<std::string>> entrypoint;
    std::vector<std::string> env;  // KEY=VALUE (or KEY: taken from our environment)
    std::vector<std::string> env_files;
    std::string user, workdir, hostname;
    bool tty = false;
    bool interactive = false;
    bool autoremove = false;
    std::vector<std::string> labels;   // KEY=VALUE
    std::vector<std::string> volumes;  // -v SRC:DST[:ro]
    std::vector<std::string> mounts;   // --mount type=...,source=...,target=...
    std::vector<std::string> tmpfs;    // --tmpfs DST[:OPTIONS]
    std::vector<std::string> publish;  // -p [IP:][HOST:]CONTAINER[/PROTO]
    bool publish_all = false;
    std::string network;  // "": bridge, or slirp4netns when rootless
    std::vector<std::string> network_aliases;
    std::string memory, cpus;
    int64_t pids_limit = 0;
    bool read_only = false;
    std::vector<std::string> cap_add, cap_drop;
    bool privileged = false;
    std::vector<std::string> security_opts;
    std::vector<std::string> devices;
    std::vector<std::string> ulimits;
    bool init = false;
    std::string restart = "no";
    std::string health_cmd, health_interval = "30s", health_timeout = "30s";
    int64_t health_retries = 3;
    std::string pull = "missing";
    std::string platform;
    std::string runtime;  // empty: berth-runtime
    std::string stop_signal;
    int64_t stop_timeout = -1;
};

}  // namespace berth::engine
