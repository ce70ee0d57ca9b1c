#include "engine/network/cni.hpp"

#include <cstdlib>

#include "common/error.hpp"
#include "engine/subprocess.hpp"

namespace berth::engine {
namespace {

nlohmann::json plugin_config(const nlohmann::json& conflist, const nlohmann::json& plugin,
                             const CniRequest& request, const nlohmann::json& previous) {
    nlohmann::json config = plugin;
    config["name"] = conflist.at("name");
    config["cniVersion"] = conflist.at("cniVersion");
    if (plugin.contains("capabilities")) {
        nlohmann::json runtime = nlohmann::json::object();
        for (const auto& [capability, enabled] : plugin["capabilities"].items())
            if (enabled == true && request.runtime_config.contains(capability))
                runtime[capability] = request.runtime_config[capability];
        config["runtimeConfig"] = runtime;
    }
    if (!previous.is_null() && !previous.empty()) config["prevResult"] = previous;
    return config;
}

SubprocessResult invoke(const std::string& command, const nlohmann::json& config,
                        const CniRequest& request) {
    std::string type = config.at("type");
    std::string path = cni_plugin_path();
    SubprocessOptions options;
    options.input = config.dump();
    options.env = {"CNI_COMMAND=" + command,     "CNI_CONTAINERID=" + request.container_id,
                   "CNI_NETNS=" + request.netns, "CNI_IFNAME=" + request.ifname,
                   "CNI_PATH=" + path,           "PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
    options.timeout = std::chrono::seconds(60);
    return run_subprocess({path + "/" + type}, options);
}

std::string plugin_error(const std::string& type, const SubprocessResult& r) {
    auto doc = nlohmann::json::parse(r.out, nullptr, false);
    std::string message;
    if (doc.is_object() && doc.contains("msg")) {
        message = doc.value("msg", "");
        std::string details = doc.value("details", "");
        if (!details.empty()) message += ": " + details;
    } else {
        message = r.err.empty() ? r.out : r.err;
    }
    while (!message.empty() && message.back() == '\n')
        message.pop_back();
    return "CNI plugin " + type + ": " + message;
}

}  // namespace

std::string cni_plugin_path() {
    const char* env = std::getenv("BERTH_CNI_PATH");
    return env && *env ? env : "/usr/lib/cni";
}

nlohmann::json cni_add(const nlohmann::json& conflist, const CniRequest& request) {
    nlohmann::json result;
    const auto& plugins = conflist.at("plugins");
    for (size_t i = 0; i < plugins.size(); ++i) {
        nlohmann::json config = plugin_config(conflist, plugins[i], request, result);
        SubprocessResult r = invoke("ADD", config, request);
        if (r.exit_code != 0) {
            std::string message = plugin_error(plugins[i].value("type", "?"), r);
            nlohmann::json partial = conflist;
            partial["plugins"] =
                nlohmann::json(plugins.begin(), plugins.begin() + static_cast<ptrdiff_t>(i + 1));
            cni_del(partial, request, result);
            throw Error(message);
        }
        auto parsed = nlohmann::json::parse(r.out, nullptr, false);
        if (!parsed.is_discarded() && parsed.is_object()) result = parsed;
    }
    return result;
}

std::string cni_del(const nlohmann::json& conflist, const CniRequest& request,
                    const nlohmann::json& previous_result) {
    std::string first_error;
    const auto& plugins = conflist.at("plugins");
    for (size_t i = plugins.size(); i-- > 0;) {
        nlohmann::json config = plugin_config(conflist, plugins[i], request, previous_result);
        SubprocessResult r = invoke("DEL", config, request);
        if (r.exit_code != 0 && first_error.empty())
            first_error = plugin_error(plugins[i].value("type", "?"), r);
    }
    return first_error;
}

nlohmann::json to_json(const CniTeardown& t) {
    return {{"conflist", t.conflist},
            {"container_id", t.request.container_id},
            {"netns", t.request.netns},
            {"ifname", t.request.ifname},
            {"runtime_config", t.request.runtime_config},
            {"previous_result", t.previous_result}};
}

CniTeardown cni_teardown_from_json(const nlohmann::json& j) {
    CniTeardown t;
    t.conflist = j.at("conflist");
    t.request.container_id = j.at("container_id");
    t.request.netns = j.at("netns");
    t.request.ifname = j.at("ifname");
    t.request.runtime_config = j.value("runtime_config", nlohmann::json::object());
    t.previous_result = j.value("previous_result", nlohmann::json());
    return t;
}

std::string cni_del(const CniTeardown& t) {
    return cni_del(t.conflist, t.request, t.previous_result);
}

}  // namespace berth::engine
