#include <signal.h>
#include <unistd.h>

#include "common/error.hpp"
#include "runtime/launcher.hpp"
#include "runtime/verbs/verbs.hpp"

namespace berth::runtime {

void delete_container(const StateRoot& root, const std::string& id, bool force) {
    UniqueFd lock = root.lock(id);
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
