#include "engine/monitor/config.hpp"

#include "common/error.hpp"
#include "common/strings.hpp"

namespace berth::engine {

RestartPolicy parse_restart_policy(const std::string& text) {
    RestartPolicy policy;
    std::string name = text;
    size_t colon = text.find(':');
    if (colon != std::string::npos) {
        name = text.substr(0, colon);
        auto max = parse_int64(text.substr(colon + 1));
        if (name != "on-failure" || !max || *max < 0)
            throw Error("invalid restart policy \"" + text + "\"");
        policy.max_retries = *max;
    }
    if (name.empty()) name = "no";
    if (name != "no" && name != "on-failure" && name != "always" && name != "unless-stopped")
        throw Error("invalid restart policy \"" + text +
                    "\": expected no, on-failure[:N], always or unless-stopped");
    policy.name = name;
    return policy;
}

nlohmann::json MonitorConfig::to_json() const {
    nlohmann::json ports = nlohmann::json::array();
    for (const auto& p : forwarded_ports)
        ports.push_back({{"protocol", p.protocol},
                         {"host_ip", p.host_ip},
                         {"host_port", p.host_port},
                         {"container_port", p.container_port}});
    return {{"id", id},
            {"state_db", state_db},
            {"bundle", bundle},
            {"runtime", runtime},
            {"runtime_root", runtime_root},
            {"terminal", terminal},
            {"console_socket", console_socket},
            {"open_stdin", open_stdin},
            {"wait_for_attach", wait_for_attach},
            {"log_path", log_path},
            {"log_max_size", log_max_size},
            {"restart", {{"name", restart.name}, {"max_retries", restart.max_retries}}},
            {"health",
             {{"command", health.command},
              {"interval_ms", health.interval_ms},
              {"timeout_ms", health.timeout_ms},
              {"retries", health.retries},
              {"start_period_ms", health.start_period_ms}}},
            {"memory_cgroup", memory_cgroup},
            {"cleanup", cleanup},
            {"local_cleanup", local_cleanup},
            {"netns", netns},
            {"network_gate", network_gate},
            {"autoremove", autoremove},
            {"volume_dirs", volume_dirs},
            {"volume_names", volume_names},
            {"slirp4netns", slirp4netns},
            {"slirp4netns_api_socket", slirp4netns_api_socket},
            {"forwarded_ports", ports},
            {"seccomp_record", seccomp_record},
            {"seccomp_listener", seccomp_listener}};
}

MonitorConfig MonitorConfig::from_json(const nlohmann::json& d) {
    MonitorConfig c;
    c.id = d.at("id");
    c.state_db = d.at("state_db");
    c.bundle = d.at("bundle");
    c.runtime = d.at("runtime");
    c.runtime_root = d.at("runtime_root");
    c.terminal = d.value("terminal", false);
    c.console_socket = d.value("console_socket", "");
    c.open_stdin = d.value("open_stdin", false);
    c.wait_for_attach = d.value("wait_for_attach", false);
    c.log_path = d.at("log_path");
    c.log_max_size = d.value("log_max_size", c.log_max_size);
    c.restart.name = d.at("restart").value("name", "no");
    c.restart.max_retries = d.at("restart").value("max_retries", int64_t{0});
    const auto& h = d.at("health");
    c.health.command = h.value("command", std::vector<std::string>{});
    c.health.interval_ms = h.value("interval_ms", c.health.interval_ms);
    c.health.timeout_ms = h.value("timeout_ms", c.health.timeout_ms);
    c.health.retries = h.value("retries", c.health.retries);
    c.health.start_period_ms = h.value("start_period_ms", c.health.start_period_ms);
    c.memory_cgroup = d.value("memory_cgroup", "");
    c.cleanup = d.value("cleanup", std::vector<std::string>{});
    c.local_cleanup = d.value("local_cleanup", false);
    c.netns = d.value("netns", "");
    c.network_gate = d.value("network_gate", false);
    c.autoremove = d.value("autoremove", false);
    c.volume_dirs = d.value("volume_dirs", std::vector<std::string>{});
    c.volume_names = d.value("volume_names", std::vector<std::string>{});
    c.slirp4netns = d.value("slirp4netns", "");
    c.slirp4netns_api_socket = d.value("slirp4netns_api_socket", "");
    c.seccomp_record = d.value("seccomp_record", "");
    c.seccomp_listener = d.value("seccomp_listener", "");
    for (const auto& p : d.value("forwarded_ports", nlohmann::json::array()))
        c.forwarded_ports.push_back({p.value("protocol", "tcp"), p.value("host_ip", ""),
                                     p.value("host_port", int64_t{0}),
                                     p.value("container_port", int64_t{0})});
    return c;
}

}  // namespace berth::engine
