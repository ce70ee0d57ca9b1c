// Image config -> runtime config.json, after the OCI image spec's conversion rules:
// Entrypoint + Cmd -> process.args, Env (PATH by default), User (names looked up in the
// rootfs' /etc/passwd and /etc/group), WorkingDir -> cwd, and ExposedPorts, StopSignal,
// Labels, os/arch/author/created as annotations. Volumes are returned for the caller (the
// engine) to mount.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "oci/image_config.hpp"

namespace berth::image {

struct RuntimeConfigOptions {
    std::optional<std::vector<std::string>> entrypoint;  // replaces the image's (empty: none)
    std::vector<std::string> command;                    // replaces the image's Cmd when given
    std::vector<std::string> default_command;            // when there is no command at all
    std::vector<std::string> env;                        // KEY=VALUE, over the image's
    std::string user;                                    // replaces the image's User
    std::string workdir;                                 // replaces the image's WorkingDir
    bool terminal = false;
    bool readonly_rootfs = false;
    std::string rootfs = "rootfs";  // root.path
    std::string hostname;
};

struct RuntimeConfig {
    nlohmann::ordered_json spec;       // a config.json document
    std::vector<std::string> volumes;  // the image's Volumes
};

struct ResolvedUser {
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::vector<uint32_t> additional_gids;
    std::string home;  // from /etc/passwd, empty when unknown
};

// "name", "uid", "name:group", "uid:gid" as docker reads USER; names come from the rootfs
// (rootfs_fd, or -1 to allow numeric ids only). Throws Error naming what is not found.
ResolvedUser resolve_user(const std::string& user, int rootfs_fd);

// Throws Error when the image has nothing to run, no command was given and there is no
// default_command.
RuntimeConfig make_runtime_config(const oci::ImageConfig& image, int rootfs_fd,
                                  const RuntimeConfigOptions& options = {});

}  // namespace berth::image
