#include "oci/runtime_state.hpp"

namespace berth::oci {

const char* status_name(Status status) {
    switch (status) {
        case Status::creating:
            return "creating";
        case Status::created:
            return "created";
        case Status::running:
            return "running";
        case Status::paused:
            return "paused";
        case Status::stopped:
            return "stopped";
    }
    return "unknown";
}

nlohmann::json to_json(const State& state) {
    nlohmann::json j = {
        {"ociVersion", kSpecVersion},
        {"id", state.id},
        {"status", status_name(state.status)},
        {"bundle", state.bundle},
    };
    // The spec requires pid for created and running; hooks of a creating container get it too.
    j["pid"] = state.status == Status::stopped ? 0 : state.pid;
    j["annotations"] = state.annotations;
    return j;
}

}  // namespace berth::oci
