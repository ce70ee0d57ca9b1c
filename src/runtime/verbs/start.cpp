#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/json_reader.hpp"
#include "runtime/hooks.hpp"
#include "runtime/start_socket.hpp"
#include "runtime/verbs/verbs.hpp"

namespace berth::runtime {

void start_container(const StateRoot& root, const std::string& id) {
    UniqueFd lock = root.lock(id);
    ContainerState state = root.load(id);
    oci::Status status = current_status(root, state);
    if (status != oci::Status::created)
        throw Error("cannot start a container that is " + std::string(oci::status_name(status)) +
                    " (\"" + id + "\")");
    // Returns once the init has exec'd the process (or throws its error).
    request_start(lock.get(), state.pid, id);
    ::unlink(root.start_socket_path(id).c_str());

    std::string config_path = root.config_path(id);
    oci::Spec spec = oci::parse_spec(parse_json(read_file(config_path), config_path));
    run_hooks_warn(spec.hooks.poststart,
                   {id, oci::Status::running, state.pid, state.bundle, state.annotations},
                   "poststart");
}

}  // namespace berth::runtime
