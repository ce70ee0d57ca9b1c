// The config.json that `berth-runtime spec` writes: runc's example configuration, so that
// tools and people used to `runc spec` find what they expect.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>

namespace berth::oci {

struct DefaultSpecOptions {
    bool rootless = false;  // user namespace mapping uid/gid to root, no network namespace
    uid_t uid = 0;          // host ids mapped to root when rootless
    gid_t gid = 0;
    bool cgroup_namespace = false;  // add a cgroup namespace (pure cgroup v2 hosts)
};

nlohmann::ordered_json default_spec(const DefaultSpecOptions& options);

}  // namespace berth::oci
