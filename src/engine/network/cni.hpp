// The Container Network Interface, as a runtime drives it: each plugin of a network's
// configuration list is executed in turn (ADD in order with the previous result, DEL in
// reverse), its configuration on stdin and the request in CNI_* variables. The plugins
// are Debian's containernetworking-plugins in /usr/lib/cni.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace berth::engine {

struct CniRequest {
    std::string container_id;
    std::string netns;  // path
    std::string ifname = "eth0";
    nlohmann::json runtime_config = nlohmann::json::object();  // portMappings, ...
};

// The plugin directory: $BERTH_CNI_PATH, else /usr/lib/cni.
std::string cni_plugin_path();

// Runs ADD over every plugin of conflist; returns the final result. Throws Error with the
// plugin's message; what the plugins before it added is deleted again first.
nlohmann::json cni_add(const nlohmann::json& conflist, const CniRequest& request);
// DEL in reverse order with the result ADD returned (empty when unknown). Best effort:
// returns the first error message, empty when all went well.
std::string cni_del(const nlohmann::json& conflist, const CniRequest& request,
                    const nlohmann::json& previous_result);

// A DEL prepared when the container starts, for its monitor to run at the end.
struct CniTeardown {
    nlohmann::json conflist;
    CniRequest request;
    nlohmann::json previous_result;
};
nlohmann::json to_json(const CniTeardown& t);
CniTeardown cni_teardown_from_json(const nlohmann::json& j);
// cni_del of the prepared request.
std::string cni_del(const CniTeardown& t);

}  // namespace berth::engine
