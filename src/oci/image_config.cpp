#include "oci/image_config.hpp"

#include "common/json_reader.hpp"
#include "oci/descriptor.hpp"

namespace berth::oci {
namespace {

// {"80/tcp": {}, ...}: the keys, in order.
std::vector<std::string> object_keys(const JsonReader& reader) {
    std::vector<std::string> keys;
    for (const auto& [key, value] : reader.as_object()) {
        value.require_object();
        keys.push_back(key);
    }
    return keys;
}

ContainerConfig parse_container_config(const JsonReader& reader) {
    reader.require_object();
    ContainerConfig c;
    c.user = reader.string_or("User");
    if (auto ports = reader.find("ExposedPorts")) c.exposed_ports = object_keys(*ports);
    c.env = reader.string_array_or_empty("Env");
    c.entrypoint = reader.string_array_or_empty("Entrypoint");
    c.cmd = reader.string_array_or_empty("Cmd");
    if (auto volumes = reader.find("Volumes")) c.volumes = object_keys(*volumes);
    c.working_dir = reader.string_or("WorkingDir");
    if (auto labels = reader.find("Labels")) c.labels = labels->as_string_map();
    c.stop_signal = reader.string_or("StopSignal");
    if (auto health = reader.find("Healthcheck")) {
        health->require_object();
        HealthConfig h;
        h.test = health->string_array_or_empty("Test");
        h.interval = health->opt_int("Interval").value_or(0);
        h.timeout = health->opt_int("Timeout").value_or(0);
        h.start_period = health->opt_int("StartPeriod").value_or(0);
        h.start_interval = health->opt_int("StartInterval").value_or(0);
        h.retries = health->opt_int("Retries").value_or(0);
        c.healthcheck = std::move(h);
    }
    c.on_build = reader.string_array_or_empty("OnBuild");
    c.shell = reader.string_array_or_empty("Shell");
    return c;
}

nlohmann::ordered_json keys_object(const std::vector<std::string>& keys) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (const auto& key : keys)
        j[key] = nlohmann::ordered_json::object();
    return j;
}

}  // namespace

ImageConfig parse_image_config(std::string_view bytes, std::string_view what) {
    nlohmann::json doc = parse_json(std::string(bytes), std::string(what));
    try {
        JsonReader root(doc, "");
        root.require_object();
        ImageConfig ic;
        ic.created = root.string_or("created");
        ic.author = root.string_or("author");
        ic.architecture = root.at("architecture").as_string();
        ic.os = root.at("os").as_string();
        ic.os_version = root.string_or("os.version");
        ic.variant = root.string_or("variant");
        if (auto config = root.find("config")) ic.config = parse_container_config(*config);
        JsonReader rootfs = root.at("rootfs");
        if (std::string type = rootfs.at("type").as_string(); type != "layers")
            rootfs.at("type").fail("must be \"layers\", got \"" + type + "\"");
        for (const auto& id : rootfs.at("diff_ids").as_array())
            ic.diff_ids.push_back(parse_digest_field(id));
        if (auto history = root.find("history")) {
            for (const auto& h : history->as_array()) {
                h.require_object();
                ic.history.push_back({h.string_or("created"), h.string_or("created_by"),
                                      h.string_or("author"), h.string_or("comment"),
                                      h.bool_or("empty_layer")});
            }
        }
        return ic;
    } catch (const InvalidDocument& e) {
        throw InvalidDocument(std::string(what) + ": " + e.what());
    }
}

nlohmann::ordered_json to_json(const ImageConfig& ic) {
    nlohmann::ordered_json j;
    if (!ic.created.empty()) j["created"] = ic.created;
    if (!ic.author.empty()) j["author"] = ic.author;
    j["architecture"] = ic.architecture;
    j["os"] = ic.os;
    if (!ic.os_version.empty()) j["os.version"] = ic.os_version;
    if (!ic.variant.empty()) j["variant"] = ic.variant;
    nlohmann::ordered_json c = nlohmann::ordered_json::object();
    const ContainerConfig& cc = ic.config;
    if (!cc.user.empty()) c["User"] = cc.user;
    if (!cc.exposed_ports.empty()) c["ExposedPorts"] = keys_object(cc.exposed_ports);
    if (!cc.env.empty()) c["Env"] = cc.env;
    if (!cc.entrypoint.empty()) c["Entrypoint"] = cc.entrypoint;
    if (!cc.cmd.empty()) c["Cmd"] = cc.cmd;
    if (!cc.volumes.empty()) c["Volumes"] = keys_object(cc.volumes);
    if (!cc.working_dir.empty()) c["WorkingDir"] = cc.working_dir;
    if (!cc.labels.empty()) c["Labels"] = cc.labels;
    if (!cc.stop_signal.empty()) c["StopSignal"] = cc.stop_signal;
    if (cc.healthcheck) {
        // Go's omitempty: zero durations and retries are left out.
        const HealthConfig& h = *cc.healthcheck;
        nlohmann::ordered_json hj;
        hj["Test"] = h.test;
        if (h.interval) hj["Interval"] = h.interval;
        if (h.timeout) hj["Timeout"] = h.timeout;
        if (h.start_period) hj["StartPeriod"] = h.start_period;
        if (h.start_interval) hj["StartInterval"] = h.start_interval;
        if (h.retries) hj["Retries"] = h.retries;
        c["Healthcheck"] = hj;
    }
    if (!cc.on_build.empty()) c["OnBuild"] = cc.on_build;
    if (!cc.shell.empty()) c["Shell"] = cc.shell;
    j["config"] = c;
    j["rootfs"] = {{"type", "layers"}, {"diff_ids", nlohmann::ordered_json::array()}};
    for (const auto& id : ic.diff_ids)
        j["rootfs"]["diff_ids"].push_back(id.str());
    if (!ic.history.empty()) {
        j["history"] = nlohmann::ordered_json::array();
        for (const auto& h : ic.history) {
            nlohmann::ordered_json e;
            if (!h.created.empty()) e["created"] = h.created;
            if (!h.created_by.empty()) e["created_by"] = h.created_by;
            if (!h.author.empty()) e["author"] = h.author;
            if (!h.comment.empty()) e["comment"] = h.comment;
            if (h.empty_layer) e["empty_layer"] = true;
            j["history"].push_back(e);
        }
    }
    return j;
}

}  // namespace berth::oci
