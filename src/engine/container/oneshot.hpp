// One-shot containers: a process run to completion in the foreground over a root filesystem
// the caller has mounted (a build step's overlay, whose upper directory becomes its layer),
// with the same defaults as `berth run` (namespaces, docker's capabilities and seccomp
// profile, masked paths, the image's env/user/workdir; as BuildKit, the primary group is also
// a supplementary one) and berth-runtime run in a process group of its own. No record, no monitor:
// the caller waits, and the container is gone (runtime state, cgroup) when it returns. Used by
// `berth build` for RUN.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/network/networks.hpp"
#include "oci/image_config.hpp"

namespace berth::engine {

struct OneShotMount {
    std::string type = "bind";  // bind or tmpfs
    std::string source;         // bind: a host path
    std::string destination;
    bool readonly = false;
    std::string tmpfs_options;  // tmpfs: "size=...,mode=..."
};

struct OneShotOptions {
    std::string id;      // unique among the root's containers ("build-<hex>")
    std::string rootfs;  // the mounted root filesystem
    std::string bundle;  // an empty directory: config.json, hosts, resolv.conf, hostname
    const oci::ImageConfig* image = nullptr;  // Env, User, WorkingDir
    std::vector<std::string> args;            // the process (no entrypoint is added)
    std::vector<std::string> env;             // KEY=VALUE over the image's
    std::string user;                         // "": the image's
    std::string workdir;                      // "": the image's
    std::vector<OneShotMount> mounts;
    // "none" (its own namespace, loopback up), "host", or the path of a namespace to join.
    std::string network = "none";
    std::string hostname = "buildkitsandbox";
};

// Output of the process (stdout and stderr together, as they come).
using OneShotOutput = std::function<void(std::string_view)>;

// A network namespace on the default bridge for one-shot containers that want a network
// (made once per build, joined by each of its steps).
struct SandboxNetwork {
    std::string id;
    std::string netns;  // its path ("" when none was made)
    NetworkRecord network;
    Attachment attachment;
};

}  // namespace berth::engine
