// The runtime config.json of a container: the image config turned into a process (see
// image/runtime_config.hpp), then what docker users expect by default around it — docker's
// capability set and seccomp profile, masked and read-only paths, /etc/hosts, resolv.conf
// and hostname from the container directory, the container's mounts and namespaces, its
// cgroup and resource limits — and the flags that change those defaults.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/container/create_options.hpp"
#include "engine/container/specs.hpp"
#include "oci/image_config.hpp"

namespace berth::engine {

struct ResolvedMount {
    MountSpec spec;
    std::string host_path;  // what is bind-mounted (bind source, the volume's data dir)
};

struct SpecInputs {
    const oci::ImageConfig* image = nullptr;
    int rootfs_fd = -1;
    const CreateOptions* options = nullptr;
    std::string id;
    std::string hostname;
    std::string container_dir;  // holds hosts, resolv.conf, hostname
    std::vector<ResolvedMount> mounts;
    std::string network_namespace;  // "" new, "host" none (the host's), or a path to join
    std::string cgroups_path;       // e.g. /berth/<id>; "" for none
    bool rootless = false;          // no cgroup: --memory, --cpus, --pids-limit left out
    std::vector<std::string> env;   // from -e and --env-file, KEY=VALUE
    std::string init_binary;        // --init: a static init to bind-mount
    std::string seccomp_listener;   // seccomp=record: linux.seccomp.listenerPath
};

struct BuiltSpec {
    nlohmann::ordered_json spec;
    std::vector<std::string> image_volumes;  // the image's VOLUMEs
};

BuiltSpec build_container_spec(const SpecInputs& in);

// docker's default capability set.
std::vector<std::string> default_capabilities();

}  // namespace berth::engine
