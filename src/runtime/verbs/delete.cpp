#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/error.hpp"
#include "runtime/launcher.hpp"
#include "runtime/verbs/verbs.hpp"

namespace berth::runtime {

void delete_container(const StateRoot& root, const std::string& id, bool force) {
    StateRoot::validate_id(id);
    // As runc: deleting what is not there is no error with --force (podman and containerd's
    // shim clean up after a failed create that way).
    struct stat st {};
    if (force && ::stat(root.container_dir(id).c_str(), &st) < 0 && errno == ENOENT) return;
    UniqueFd lock = root.lock(id);
    if (!root.exists(id)) {
        // The lock waited for any create in progress: a directory still without state is what
        // an aborted create left. Nothing runs there; remove it.
        root.remove(id);
        if (force) return;
        throw Error("container \"" + id + "\" does not exist");
    }
    ContainerState state = root.load(id);
    oci::Status status = current_status(root, state);
    if (status == oci::Status::running || status == oci::Status::paused) {
        if (!force)
            throw Error("cannot delete container \"" + id + "\" that is " +
                        oci::status_name(status) + " (stop it first, or use --force)");
    }
    // created: the init is only waiting for `start`; deleting it is the normal path.
    destroy_container(root, state);
}

}  // namespace berth::runtime
