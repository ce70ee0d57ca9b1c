// The engine: containers from images, without a daemon. Each verb is a short-lived call
// from the CLI; what must outlive it (stdio, logs, exit codes, restarts, health) is the
// container's monitor (monitor.hpp). Everything is recorded in the state database, and
// every teardown step tolerates having been done already, so that a CLI or a monitor
// killed at any point leaves nothing that `rm` cannot clean up.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/unique_fd.hpp"
#include "engine/container/container_db.hpp"
#include "engine/container/create_options.hpp"
#include "engine/container/oneshot.hpp"
#include "engine/container/teardown.hpp"
#include "engine/monitor/launch.hpp"
#include "engine/network/networks.hpp"
#include "engine/paths.hpp"
#include "engine/volume/volumes.hpp"
#include "image/gc.hpp"
#include "image/images.hpp"
#include "image/settings.hpp"

namespace berth::engine {

// A failure to invoke the container's command: exit code 126 or 127 as docker's.
class StartError : public Error {
  public:
    StartError(int code, const std::string& message) : Error(message), code_(code) {}
    [[nodiscard]] int code() const { return code_; }

  private:
    int code_;
};

struct StartOptions {
    bool attach = false;  // wait for an attach client before the process starts
};

// What `ps` shows for a container, with its status checked against the processes.
struct ContainerView {
    ContainerRecord record;
    [[nodiscard]] std::string status_text() const;  // "Up 3 seconds", "Exited (1) 2 minutes ago"
};

struct LogsOptions {
    bool follow = false;
    bool timestamps = false;
    std::optional<int64_t> tail;  // last N lines
    std::string since;            // RFC 3339 or a duration ago ("10m")
};

struct ExecOptions {
    std::vector<std::string> command;
    bool tty = false;
    bool interactive = false;
    bool detach = false;
    std::vector<std::string> env;
    std::string user, workdir;
};

// `system df`: the image store's usage, and what containers and volumes hold.
struct EngineDiskUsage {
    image::DiskUsage store;
    int64_t images_in_use = 0;    // images some container (in any state) was made from
    image::UsageLine containers;  // size: their writable layers; reclaimable: stopped ones'
    int64_t containers_running = 0;
    image::UsageLine volumes;  // reclaimable: the volumes no container mounts
    int64_t volumes_in_use = 0;
};

class Engine {
  public:
    // images: the image store of the same root (its state database connection is shared).
    Engine(const std::string& root, image::Images& images, const image::Settings& settings);

    // Called when an image is missing and --pull allows fetching it.
    std::function<void(const std::string& image, const std::string& platform)> pull_image;

    // Validates everything, then makes the container (record, rootfs, config.json). Throws
    // with nothing left behind.
    ContainerRecord create(const CreateOptions& options);
    // `run`: spawns the next start's monitor now (it waits for its configuration), so that
    // its exec and start-up overlap create's work.
    void spawn_monitor_early();
    // Networks, then the monitor, which runs the runtime. With attach, returns once the
    // container exists and its monitor waits for the client (attach_socket()).
    void start(const std::string& name_or_id, const StartOptions& options = {});
    // The attach socket of a started container, connected.
    int connect_attach(const std::string& id);
    // Tells a monitor waiting for its attach client (StartOptions::attach) that the client
    // is connected, and waits for the start's outcome. Throws StartError/Error.
    void finish_attached_start(const std::string& id);

    // stop: the stop signal, then SIGKILL after timeout seconds (-1: the container's own).
    void stop(const std::string& name_or_id, int64_t timeout = -1);
    void kill(const std::string& name_or_id, const std::string& signal = "KILL");
    void restart(const std::string& name_or_id, int64_t timeout = -1);
    void pause(const std::string& name_or_id);
    void unpause(const std::string& name_or_id);
    // rm: refuses a running container unless force; volumes: its anonymous volumes too.
    void remove(const std::string& name_or_id, bool force, bool volumes);
    // What happens after the container is done for good (the monitor's cleanup command):
    // runtime state, networks, and with --rm everything.
    void cleanup(const std::string& id);
    void rename(const std::string& name_or_id, const std::string& new_name);

    std::vector<ContainerView> list(bool all);
    ContainerRecord find(const std::string& name_or_id);
    nlohmann::json inspect(const std::string& name_or_id);
    // Blocks until the container is not running; returns its exit code.
    int64_t wait(const std::string& name_or_id);
    // Writes the container's logs to out_fd/err_fd.
    void logs(const std::string& name_or_id, const LogsOptions& options, int out_fd, int err_fd);
    // Runs the runtime's exec in the foreground; returns the command's exit code.
    int exec(const std::string& name_or_id, const ExecOptions& options);
    // ps inside the container: header + rows.
    std::string top(const std::string& name_or_id);
    nlohmann::json stats(const std::string& name_or_id);
    std::vector<std::string> ports(const std::string& name_or_id);
    // cp: "CONTAINER:PATH" on either side.
    void copy(const std::string& from, const std::string& to);
    // Removes every stopped container; returns their ids.
    std::vector<std::string> prune_containers();
    // A running container on a bridge network joins another one (the next ethN) or leaves
    // one; its peers' /etc/hosts follow. Connections last until the container stops.
    void connect(const std::string& network, const std::string& name_or_id);
    void disconnect(const std::string& network, const std::string& name_or_id);

    // Refused while a container is on it (created, running or stopped).
    void remove_network(const std::string& name_or_id);
    // User networks no container is on; returns their names.
    std::vector<std::string> prune_networks();
    // Refused while a container mounts it.
    void remove_volume(const std::string& name);
    // Volumes no container mounts (anonymous ones only, unless all); returns their names.
    std::vector<std::string> prune_volumes(bool all);
    EngineDiskUsage disk_usage();

    // One-shot containers (container/oneshot.hpp), for build steps: runs the process to
    // completion over the caller's rootfs and returns its exit code (the runtime's, e.g. 127
    // for a command not found). cancel is polled: once true, the container is killed.
    // Throws Error naming what is wrong with the options (an unknown user, ...).
    int run_to_completion(const OneShotOptions& options, const OneShotOutput& output,
                          const std::atomic<bool>* cancel = nullptr);
    // A network namespace on the default bridge for one-shot containers (none when
    // rootless: they use the host's); remove it with remove_sandbox_network.
    SandboxNetwork create_sandbox_network(const std::string& id);
    void remove_sandbox_network(const SandboxNetwork& sandbox);

    Networks& networks() { return networks_; }
    Volumes& volumes() { return volumes_; }
    ContainerDb& db() { return db_; }
    const EnginePaths& paths() const { return paths_; }
    std::string runtime_for(const ContainerRecord& record) const;

  private:
    ContainerRecord reconcile(ContainerRecord record);
    void remount_lost_rootfs(const ContainerRecord& record);
    // Connects what needs no CNI ADD; returns the CNI network still to attach (its
    // namespace made, its ports reserved, the pending attachment recorded).
    std::optional<NetworkRecord> connect_networks(ContainerRecord& record);
    void attach_network(ContainerRecord& record, const NetworkRecord& network);
    [[nodiscard]] nlohmann::json network_release(const ContainerRecord& record);
    std::vector<PortMapping> reserve_ports(const ContainerRecord& record, bool reuse_address);
    void disconnect_networks(const ContainerRecord& record);
    void run_runtime(const ContainerRecord& record, const std::vector<std::string>& args,
                     bool check = true);
    void remove_files(const ContainerRecord& record, bool volumes);
    [[nodiscard]] std::set<std::string> networks_in_use();
    [[nodiscard]] std::set<std::string> volumes_in_use();
    [[nodiscard]] TeardownPlan teardown_plan(const ContainerRecord& record, bool volumes) const;

    [[nodiscard]] std::vector<std::string> cleanup_command(const std::string& id) const;
    void write_peer_hosts(const ContainerRecord& record, bool present);

    EnginePaths paths_;
    image::Images& images_;
    std::map<std::string, UniqueFd> pending_starts_;  // attached starts: the monitor's pipe
    std::optional<MonitorProcess> early_monitor_;     // spawn_monitor_early's
    image::Settings settings_;
    ContainerDb db_;
    Networks networks_;
    Volumes volumes_;
};

}  // namespace berth::engine
