// Where the engine keeps things, all derived from the berth root: the container bundles and
// the named volumes beside the image store, and the runtime's state, the network namespaces'
// mount points and CNI's IPAM leases on tmpfs under /run, in a directory named after the root
// so that two roots (tests, benchmarks) never share containers. An unprivileged user's run
// directory is $XDG_RUNTIME_DIR/berth (rootless/namespace.hpp).
#pragma once

#include <string>

namespace berth::engine {

struct EnginePaths {
    std::string root;           // the berth root (--root)
    std::string containers;     // <root>/containers
    std::string volumes;        // <root>/volumes
    std::string run;            // /run/berth/<hash of root>; rootless: <user's run dir>/<hash>
    std::string runtime_state;  // <run>/runtime: berth-runtime --root
    std::string netns;          // <run>/netns/<id>: bind mounts of network namespaces
    std::string cni_leases;     // <run>/cni: host-local IPAM data

    explicit EnginePaths(const std::string& berth_root);
    [[nodiscard]] std::string container_dir(const std::string& id) const {
        return containers + "/" + id;
    }
    [[nodiscard]] std::string netns_path(const std::string& id) const { return netns + "/" + id; }
    // Rootless: slirp4netns' API socket (sockaddr_un holds 108 bytes: a short name under run).
    [[nodiscard]] std::string slirp4netns_socket(const std::string& id) const {
        return run + "/slirp4netns/" + id.substr(0, 16);
    }
    // --security-opt seccomp=record: where the runtime sends the seccomp listener (short,
    // as slirp4netns').
    [[nodiscard]] std::string seccomp_listener(const std::string& id) const {
        return run + "/seccomp/" + id.substr(0, 16) + ".sock";
    }
    [[nodiscard]] std::string volume_dir(const std::string& name) const {
        return volumes + "/" + name;
    }
};

// A helper program: next to the running executable if there, else its bare name (PATH).
std::string helper_program(const std::string& name);

}  // namespace berth::engine
