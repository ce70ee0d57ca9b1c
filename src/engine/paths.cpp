#include "engine/paths.hpp"

#include <unistd.h>

#include <climits>

#include "common/digest.hpp"
#include "common/path.hpp"

namespace berth::engine {

EnginePaths::EnginePaths(const std::string& berth_root)
    : root(berth_root),
      containers(berth_root + "/containers"),
      volumes(berth_root + "/volumes"),
      // Short: unix socket paths and bridge names are derived from what is under it.
      run("/run/berth/" + digest_of(berth_root).hex().substr(0, 12)),
      runtime_state(run + "/runtime"),
      netns(run + "/netns"),
      cni_leases(run + "/cni") {}

std::string own_directory() {
    char buffer[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
    if (n <= 0) return {};
    return parent_path(std::string_view(buffer, static_cast<size_t>(n)));
}

std::string helper_program(const std::string& name) {
    std::string beside = own_directory() + "/" + name;
    if (::access(beside.c_str(), X_OK) == 0) return beside;
    return name;
}

}  // namespace berth::engine
