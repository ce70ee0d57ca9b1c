// The OCI runtime state: what `state` prints and what hooks read on stdin.
#pragma once

#include <sys/types.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace berth::oci {

inline constexpr const char* kSpecVersion = "1.2.0";

enum class Status { creating, created, running, paused, stopped };
const char* status_name(Status status);

struct State {
    std::string id;
    Status status = Status::creating;
    pid_t pid = 0;
    std::string bundle;
    std::map<std::string, std::string> annotations;
};

// The spec's fields only (ociVersion, id, status, pid, bundle, annotations).
nlohmann::json to_json(const State& state);

}  // namespace berth::oci
