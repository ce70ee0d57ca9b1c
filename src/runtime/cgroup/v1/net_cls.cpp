// v1 net_cls: net_cls.classid.
#include "runtime/cgroup/controllers.hpp"
#include "runtime/cgroup/files.hpp"

namespace berth::runtime::cgroup::v1 {

void apply_net_cls(const std::string& dir, uint32_t class_id) {
    cg_write(dir, "net_cls.classid", std::to_string(class_id));
}

}  // namespace berth::runtime::cgroup::v1
