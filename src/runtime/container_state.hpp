// What berth-runtime remembers about a container between verbs: one directory per
// container under the state root (default /run/berth-runtime/<id>/), holding state.json,
// a copy of the config.json it was created from, the cgroups it was given (cgroup.json), and
// the start socket while it is "created".
#pragma once

#include <sys/types.h>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/unique_fd.hpp"
#include "oci/runtime_state.hpp"
#include "runtime/seccomp/seccomp.hpp"

namespace berth::runtime {

struct ContainerState {
    std::string id;
    std::string bundle;
    std::string rootfs;
    pid_t pid = 0;
    uint64_t pid_start_time = 0;  // /proc/PID/stat field 22: tells a reused pid apart
    std::string created;          // RFC 3339 with nanoseconds
    uid_t owner = 0;
    std::map<std::string, std::string> annotations;
    nlohmann::json cgroup;  // cgroup::Manager::to_json()
    bool own_pid_namespace = true;
    bool paused = false;
    bool rootless = false;
    bool systemd_cgroup = false;
    // Whether the config has poststop hooks: without them, delete need not read it again
    // (true when a state file predates the field).
    bool poststop_hooks = true;
};

nlohmann::json to_json(const ContainerState& state);
ContainerState container_state_from_json(const nlohmann::json& j);

// The state root: lists, creates, loads, saves and removes container directories.
class StateRoot {
  public:
    explicit StateRoot(std::string dir) : dir_(std::move(dir)) {}
    [[nodiscard]] const std::string& dir() const { return dir_; }
    [[nodiscard]] std::string container_dir(const std::string& id) const { return dir_ + "/" + id; }

    // Container ids are names of directories: letters, digits, '_', '+', '-', '.'.
    static void validate_id(const std::string& id);

    // Creates the container's directory, failing if the id is taken; returns a locked fd.
    UniqueFd create(const std::string& id) const;
    // Opens and locks (flock) an existing container's directory; throws "container X does not
    // exist".
    UniqueFd lock(const std::string& id, bool exclusive = true) const;
    [[nodiscard]] bool exists(const std::string& id) const;
    [[nodiscard]] ContainerState load(const std::string& id) const;
    void save(const ContainerState& state) const;
    void remove(const std::string& id) const;
    [[nodiscard]] std::vector<std::string> list() const;

    [[nodiscard]] std::string config_path(const std::string& id) const {
        return container_dir(id) + "/config.json";
    }
    // The container's cgroups (cgroup::Manager::to_json()), written before any exists: what
    // `delete` empties and removes when a create was killed before state.json was written.
    [[nodiscard]] std::string cgroup_record_path(const std::string& id) const {
        return container_dir(id) + "/cgroup.json";
    }
    // Exists while the container is "created" (see start_socket.hpp).
    [[nodiscard]] std::string start_socket_path(const std::string& id) const {
        return container_dir(id) + "/exec.sock";
    }
    // Compiled seccomp programs, shared by the containers of this root (tmpfs, root-only).
    [[nodiscard]] seccomp::CompileOptions seccomp_cache() const {
        return {dir_ + "/.seccomp-cache"};
    }

  private:
    std::string dir_;
};

// Start time of pid from /proc/PID/stat, or nullopt when the process is gone.
std::optional<uint64_t> process_start_time(pid_t pid);

// Every process in init's pid namespace (init included), for a container with its own pid
// namespace and no cgroup to list them (rootless without delegated cgroups).
std::vector<pid_t> processes_in_pid_namespace(pid_t init);

// The container's live status: stopped when the init is gone (or its pid was reused).
oci::Status current_status(const StateRoot& root, const ContainerState& state);
bool init_alive(const ContainerState& state);

}  // namespace berth::runtime
