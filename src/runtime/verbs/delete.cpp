#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/json_reader.hpp"
#include "runtime/cgroup/manager.hpp"
#include "runtime/launcher.hpp"
#include "runtime/verbs/verbs.hpp"

namespace berth::runtime {
namespace {

// What a create killed before it wrote state.json left: its init died with it (see
// parent_death.hpp), but the cgroups it made may hold processes still exiting, and must go.
void remove_aborted_create(const StateRoot& root, const std::string& id) {
    auto record = read_file_if_exists(root.cgroup_record_path(id));
    if (record) {
        std::unique_ptr<cgroup::Manager> cgroups;
        try {
            cgroups = cgroup::Manager::from_json(parse_json(*record, root.cgroup_record_path(id)));
        } catch (const std::exception&) {
            // Cut short while it was written: it was written before any cgroup was made.
        }
        if (cgroups) {
            empty_container_cgroups(*cgroups, id);
            try {
                cgroups->destroy();
            } catch (const std::exception& e) {
                throw Error("container \"" + id + "\": " + e.what());
            }
        }
    }
    root.remove(id);
}

}  // namespace

void delete_container(const StateRoot& root, const std::string& id, bool force) {
    StateRoot::validate_id(id);
    // As runc: deleting what is not there is no error with --force (podman and containerd's
    // shim clean up after a failed create that way).
    struct stat st {};
    if (force && ::stat(root.container_dir(id).c_str(), &st) < 0 && errno == ENOENT) return;
    UniqueFd lock = root.lock(id);
    if (!root.exists(id)) {
        // The lock waited for any create in progress: a directory still without state is what
        // an aborted create left.
        remove_aborted_create(root, id);
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
    // created: the init is only waiting for `start`; deleting it is the normal path. Whatever
    // the state says, nothing may stay in the container's cgroups.
    destroy_container(root, state, nullptr, true);
}

}  // namespace berth::runtime
