#include <sys/stat.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/file.hpp"
#include "oci/default_spec.hpp"
#include "runtime/cgroup/manager.hpp"
#include "runtime/verbs/verbs.hpp"

namespace berth::runtime {

void write_default_spec(const std::string& bundle, bool rootless) {
    std::string path = bundle + "/config.json";
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) throw Error(path + " already exists; remove it first");
    oci::DefaultSpecOptions options;
    options.rootless = rootless;
    options.uid = ::geteuid();
    options.gid = ::getegid();
    options.cgroup_namespace = cgroup::Layout::detect().mode == cgroup::Mode::v2;
    write_file(path, oci::default_spec(options).dump(4) + "\n", 0644);
}

}  // namespace berth::runtime
