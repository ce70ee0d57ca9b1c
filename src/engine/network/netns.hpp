// Network namespaces that outlive their processes: bind mounts of nsfs files at a path
// (as `ip netns add` makes them), so CNI can configure one before the container starts and
// the container (and its restarts) can join it by path.
#pragma once

#include <string>

namespace berth::engine {

// Creates a new network namespace, its loopback up, mounted at path.
void create_netns(const std::string& path);
// Unmounts and removes it; nothing when it is not there.
void remove_netns(const std::string& path);
bool netns_exists(const std::string& path);

}  // namespace berth::engine
