#include "engine/engine.hpp"

#include <sys/file.h>
#include <unistd.h>

#include <ctime>

#include "common/error.hpp"
#include "common/path.hpp"
#include "common/time.hpp"
#include "engine/container/specs.hpp"
#include "engine/process_identity.hpp"

namespace berth::engine {
namespace {

// Seconds since an RFC 3339 UTC time ("2024-01-02T03:04:05.123Z"); -1 when unparsable.
int64_t seconds_since(const std::string& when) {
    std::tm tm{};
    if (when.size() < 19 || !::strptime(when.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return -1;
    time_t then = ::timegm(&tm);
    return static_cast<int64_t>(std::time(nullptr) - then);
}

std::string human_duration(int64_t seconds) {
    if (seconds < 1) return "Less than a second";
    if (seconds == 1) return "1 second";
    if (seconds < 60) return std::to_string(seconds) + " seconds";
    int64_t minutes = seconds / 60;
    if (minutes == 1) return "About a minute";
    if (minutes < 60) return std::to_string(minutes) + " minutes";
    int64_t hours = minutes / 60;
    if (hours == 1) return "About an hour";
    if (hours < 48) return std::to_string(hours) + " hours";
    return std::to_string(hours / 24) + " days";
}

}  // namespace

std::string ContainerView::status_text() const {
    const ContainerState& s = record.state;
    switch (s.status) {
        case Status::created:
            return "Created";
        case Status::running:
        case Status::paused: {
            std::string text = "Up " + human_duration(seconds_since(s.started_at));
            if (s.status == Status::paused) text += " (Paused)";
            if (!s.health.empty()) text += " (" + s.health + ")";
            return text;
        }
        case Status::exited:
            return "Exited (" + std::to_string(s.exit_code) + ") " +
                   human_duration(seconds_since(s.finished_at)) + " ago";
        case Status::dead:
            return "Dead";
    }
    return "Unknown";
}

Engine::Engine(const std::string& root, image::Images& images, const image::Settings& settings)
    : paths_(root),
      images_(images),
      settings_(settings),
      db_(images.db().database()),
      networks_(paths_, db_.database()),
      volumes_(paths_, db_.database()) {}

ContainerRecord Engine::find(const std::string& name_or_id) {
    return reconcile(db_.find(name_or_id));
}

// A running record whose monitor and process are both gone (SIGKILLed, or the machine
// rebooted) becomes exited; one whose monitor alone is gone stays running until its
// process ends, and rm still cleans up after it.
ContainerRecord Engine::reconcile(ContainerRecord r) {
    ContainerState& s = r.state;
    if (s.status != Status::running && s.status != Status::paused) return r;
    if (s.monitor_pid && process_alive(s.monitor_pid, s.monitor_start)) return r;
    if (s.pid && process_alive(s.pid, s.pid_start)) return r;
    auto updated = db_.modify_state(r.id, [](ContainerState& st) {
        if (st.status != Status::running && st.status != Status::paused) return;
        if (st.monitor_pid && process_alive(st.monitor_pid, st.monitor_start)) return;
        st.status = Status::exited;
        st.exit_code = 255;
        st.pid = 0;
        st.monitor_pid = 0;
        st.finished_at = rfc3339_now(false);
        st.error = "the container's monitor was lost";
    });
    if (updated) s = *updated;
    return r;
}

std::vector<ContainerView> Engine::list(bool all) {
    std::vector<ContainerView> out;
    for (auto& record : db_.list()) {
        ContainerRecord r = reconcile(std::move(record));
        bool up = r.state.status == Status::running || r.state.status == Status::paused;
        if (all || up) out.push_back({std::move(r)});
    }
    return out;
}

std::string Engine::runtime_for(const ContainerRecord& record) const {
    return record.config.value("runtime", "berth-runtime");
}

void Engine::rename(const std::string& name_or_id, const std::string& new_name) {
    if (!valid_name(new_name)) throw Error("invalid container name \"" + new_name + "\"");
    ContainerRecord r = find(name_or_id);
    db_.rename(r.id, new_name);
}

nlohmann::json Engine::inspect(const std::string& name_or_id) {
    ContainerRecord r = find(name_or_id);
    const ContainerState& s = r.state;
    const nlohmann::json& c = r.config;
    nlohmann::json networks = nlohmann::json::object();
    nlohmann::json port_map = nlohmann::json::object();
    const nlohmann::json attachments = c.value("attachments", nlohmann::json::object());
    for (const auto& [name, a] : attachments.items()) {
        networks[name] = {{"IPAddress", a.value("ip", "")},
                          {"Gateway", a.value("gateway", "")},
                          {"MacAddress", a.value("mac", "")}};
        for (const auto& p : a.value("ports", nlohmann::json::array())) {
            std::string key =
                std::to_string(p.value("container_port", 0)) + "/" + p.value("protocol", "tcp");
            port_map[key].push_back({{"HostIp", p.value("host_ip", "")},
                                     {"HostPort", std::to_string(p.value("host_port", 0))}});
        }
    }
    nlohmann::json mounts = nlohmann::json::array();
    for (const auto& m : c.value("mounts", nlohmann::json::array()))
        mounts.push_back({{"Type", m.value("type", "")},
                          {"Name", m.value("type", "") == "volume" ? m.value("source", "") : ""},
                          {"Source", m.value("host_path", "")},
                          {"Destination", m.value("destination", "")},
                          {"RW", !m.value("readonly", false)}});
    nlohmann::json state = {{"Status", to_string(s.status)},
                            {"Running", s.status == Status::running || s.status == Status::paused},
                            {"Paused", s.status == Status::paused},
                            {"Restarting", false},
                            {"OOMKilled", s.oom_killed},
                            {"Dead", s.status == Status::dead},
                            {"Pid", s.pid},
                            {"ExitCode", s.exit_code},
                            {"Error", s.error},
                            {"StartedAt", s.started_at},
                            {"FinishedAt", s.finished_at}};
    if (!c.value("health", nlohmann::json::object())
             .value("command", nlohmann::json::array())
             .empty())
        state["Health"] = {{"Status", s.health}, {"FailingStreak", s.failing_streak}};
    return {{"Id", r.id},
            {"Created", r.created},
            {"Path", c.value("args", nlohmann::json::array()).empty() ? "" : c["args"][0]},
            {"Args", c.value("args", nlohmann::json::array())},
            {"State", state},
            {"Image", r.image_id},
            {"Name", "/" + r.name},
            {"RestartCount", s.restart_count},
            {"Driver", "overlay"},
            {"MonitorPid", s.monitor_pid},
            {"Mounts", mounts},
            {"Config",
             {{"Hostname", c.value("hostname", "")},
              {"User", c.value("user", "")},
              {"Env", c.value("env", nlohmann::json::array())},
              {"Cmd", c.value("args", nlohmann::json::array())},
              {"Image", r.image},
              {"WorkingDir", c.value("workdir", "")},
              {"Tty", c.value("tty", false)},
              {"OpenStdin", c.value("interactive", false)},
              {"Labels", c.value("labels", nlohmann::json::object())},
              {"StopSignal", c.value("stop_signal", "SIGTERM")},
              {"StopTimeout", c.value("stop_timeout", 10)}}},
            {"HostConfig",
             {{"AutoRemove", c.value("autoremove", false)},
              {"RestartPolicy",
               {{"Name", c.value("restart", nlohmann::json::object()).value("name", "no")},
                {"MaximumRetryCount",
                 c.value("restart", nlohmann::json::object()).value("max_retries", 0)}}},
              {"NetworkMode", c.value("network", "bridge")},
              {"Memory", c.value("memory", int64_t{0})},
              {"NanoCpus", c.value("nano_cpus", int64_t{0})},
              {"PidsLimit", c.value("pids_limit", int64_t{0})},
              {"ReadonlyRootfs", c.value("read_only", false)},
              {"Privileged", c.value("privileged", false)},
              {"Runtime", runtime_for(r)}}},
            {"NetworkSettings", {{"Networks", networks}, {"Ports", port_map}}},
            {"BundlePath", paths_.container_dir(r.id)}};
}

std::vector<std::string> Engine::cleanup_command(const std::string& id) const {
    return {own_directory() + "/berth", "--root", paths_.root, "container-cleanup", id};
}

}  // namespace berth::engine
