// linux.resources.unified: raw cgroup v2 files, written last so they win over the converted
// OCI values.
#include <cerrno>

#include "common/error.hpp"
#include "runtime/cgroup/controllers.hpp"
#include "runtime/cgroup/files.hpp"

namespace berth::runtime::cgroup::v2 {

void apply_unified(const std::string& dir, const std::map<std::string, std::string>& values) {
    for (const auto& [key, value] : values) {
        try {
            cg_write(dir, key, value);
        } catch (const SystemError& e) {
            if (e.code() != ENOENT) throw;
            throw SystemError(ENOENT,
                              concat({"linux.resources.unified.", key, ": no such file in ", dir,
                                      " (is its controller enabled for this cgroup?)"}));
        }
    }
}

}  // namespace berth::runtime::cgroup::v2
