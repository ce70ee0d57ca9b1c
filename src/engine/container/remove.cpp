// Teardown: the monitor's cleanup after the container's end, rm, prune. Every step
// tolerates having been done already (by a cleanup that was killed midway, or by another
// process): rm after any crash finishes the job. A lock on the container directory keeps
// a cleanup and an rm from interleaving.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "common/error.hpp"
#include "common/remove_tree.hpp"
#include "engine/container/teardown.hpp"
#include "engine/engine.hpp"
#include "engine/monitor/monitor_cgroup.hpp"
#include "engine/network/netns.hpp"
#include "engine/process_identity.hpp"

namespace berth::engine {

TeardownPlan Engine::teardown_plan(const ContainerRecord& record, bool volumes) const {
    TeardownPlan plan{record.id, paths_.container_dir(record.id), {}, {}};
    for (const auto& m : record.config.value("mounts", nlohmann::json::array())) {
        if (!volumes || m.value("type", "") != "volume" || !m.value("anonymous", false)) continue;
        plan.volume_names.push_back(m.value("source", ""));
        plan.volume_dirs.push_back(paths_.volume_dir(m.value("source", "")));
    }
    return plan;
}

void Engine::remove_files(const ContainerRecord& record, bool volumes) {
    remove_container_files(db_.database(), teardown_plan(record, volumes));
}

void Engine::cleanup(const std::string& id) {
    ContainerLock lock(paths_.container_dir(id));
    auto found = db_.get(id);
    if (!found) return;
    ContainerRecord record = *found;
    if (record.state.status == Status::running &&
        process_alive(record.state.pid, record.state.pid_start))
        return;  // restarted meanwhile
    // The monitor ran the runtime's delete before calling us: again only if that left the
    // runtime's state directory (runc, crun and berth-runtime keep one per container).
    struct stat st {};
    if (::stat((paths_.runtime_state + "/" + record.id).c_str(), &st) == 0)
        run_runtime(record, {"delete", "--force", record.id}, false);
    MonitorCgroup::remove("/berth/" + record.id);
    disconnect_networks(record);
    if (record.config.value("autoremove", false)) remove_files(record, true);
}

void Engine::remove(const std::string& name_or_id, bool force, bool volumes) {
    ContainerRecord record = find(name_or_id);
    ContainerState& s = record.state;
    bool up = s.status == Status::running || s.status == Status::paused;
    if (up && !force)
        throw Error("cannot remove container " + record.name +
                    ": it is running (stop it first, or use rm -f)");
    if (force) {
        db_.modify_state(record.id, [](ContainerState& st) { st.stopped_by_user = true; });
        // The monitor first, so that it neither restarts the container nor races this
        // teardown; then the container.
        if (s.monitor_pid && process_alive(s.monitor_pid, s.monitor_start))
            ::kill(static_cast<pid_t>(s.monitor_pid), SIGKILL);
        if (s.pid && process_alive(s.pid, s.pid_start)) {
            run_runtime(record, {"kill", record.id, "9"}, false);
            ::kill(static_cast<pid_t>(s.pid), SIGKILL);
            for (int i = 0; i < 500 && process_alive(s.pid, s.pid_start); ++i)
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    ContainerLock lock(paths_.container_dir(record.id));
    auto current = db_.get(record.id);
    if (!current) return;  // its --rm cleanup finished meanwhile
    record = *current;
    run_runtime(record, {"delete", "--force", record.id}, false);
    MonitorCgroup::remove("/berth/" + record.id);  // left by a monitor that was killed
    disconnect_networks(record);
    remove_files(record, volumes);
}

std::vector<std::string> Engine::prune_containers() {
    std::vector<std::string> removed;
    for (const auto& view : list(true)) {
        Status st = view.record.state.status;
        if (st == Status::running || st == Status::paused) continue;
        try {
            remove(view.record.id, false, false);
            removed.push_back(view.record.id);
        } catch (const Error&) {  // NOLINT(bugprone-empty-catch): started meanwhile
        }
    }
    empty_trash(paths_.containers);
    return removed;
}

std::set<std::string> Engine::networks_in_use() {
    std::set<std::string> used;
    for (const auto& record : db_.list()) {
        used.insert(record.config.value("network", ""));
        const nlohmann::json attachments =
            record.config.value("attachments", nlohmann::json::object());
        for (const auto& [name, _] : attachments.items())
            used.insert(name);
    }
    return used;
}

std::set<std::string> Engine::volumes_in_use() {
    std::set<std::string> used;
    for (const auto& record : db_.list())
        for (const auto& m : record.config.value("mounts", nlohmann::json::array()))
            if (m.value("type", "") == "volume") used.insert(m.value("source", ""));
    return used;
}

void Engine::remove_network(const std::string& name_or_id) {
    NetworkRecord net = networks_.get(name_or_id);
    for (const auto& record : db_.list()) {
        const nlohmann::json attachments =
            record.config.value("attachments", nlohmann::json::object());
        if (record.config.value("network", "") == net.name || attachments.contains(net.name))
            throw Error("network " + net.name + " is used by container " + record.name);
    }
    networks_.remove(net);
}

std::vector<std::string> Engine::prune_networks() {
    std::set<std::string> used = networks_in_use();
    std::vector<std::string> removed;
    for (const auto& net : networks_.list()) {
        if (used.count(net.name) || net.name == "bridge") continue;
        networks_.remove(net);
        removed.push_back(net.name);
    }
    return removed;
}

void Engine::remove_volume(const std::string& name) {
    if (!volumes_.get(name)) throw Error("no such volume: " + name);
    if (volumes_in_use().count(name)) throw Error("volume " + name + " is in use");
    volumes_.remove(name);
}

std::vector<std::string> Engine::prune_volumes(bool all) {
    std::set<std::string> used = volumes_in_use();
    std::vector<std::string> removed;
    for (const auto& v : volumes_.list()) {
        if (used.count(v.name) || (!all && !v.anonymous)) continue;
        volumes_.remove(v.name);
        removed.push_back(v.name);
    }
    return removed;
}

}  // namespace berth::engine
