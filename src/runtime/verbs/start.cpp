#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/json_reader.hpp"
#include "runtime/hooks.hpp"
#include "runtime/verbs/verbs.hpp"

namespace berth::runtime {

void start_container(const StateRoot& root, const std::string& id) {
    UniqueFd lock = root.lock(id);
    ContainerState state = root.load(id);
    oci::Status status = current_status(root, state);
    if (status != oci::Status::created)
        throw Error("cannot start a container that is " + std::string(oci::status_name(status)) +
                    " (\"" + id + "\")");
    std::string fifo = root.exec_fifo_path(id);
    // The init holds the fifo open for reading; no reader means it died meanwhile.
    int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENXIO) throw Error("cannot start container \"" + id + "\": its init is gone");
        throw_errno("open", fifo);
    }
    UniqueFd owned(fd);
    write_all(owned.get(), std::to_string(state.pid), fifo);
    ::unlink(fifo.c_str());
    wait_for_exec(owned.get());
    owned.reset();

    std::string config_path = root.config_path(id);
    oci::Spec spec = oci::parse_spec(parse_json(read_file(config_path), config_path));
    oci::State st;
    st.id = id;
    st.status = oci::Status::running;
    st.pid = state.pid;
    st.bundle = state.bundle;
    st.annotations = state.annotations;
    run_hooks_warn(spec.hooks.poststart, st, "poststart");
}

}  // namespace berth::runtime
