// v1 devices: the rule list written in order to devices.allow / devices.deny, so that later
// rules override earlier ones as the kernel applies them.
#include "runtime/cgroup/controllers.hpp"
#include "runtime/cgroup/files.hpp"

namespace berth::runtime::cgroup::v1 {
namespace {

std::string number(const std::optional<int64_t>& n) {
    return n ? std::to_string(*n) : std::string("*");
}

}  // namespace

std::vector<std::pair<bool, std::string>> device_writes(const std::vector<oci::DeviceRule>& rules) {
    std::vector<std::pair<bool, std::string>> out;
    for (const auto& r : rules) {
        const std::string access = r.access.empty() ? std::string("rwm") : r.access;
        const bool full_access = access.find('r') != std::string::npos &&
                                 access.find('w') != std::string::npos &&
                                 access.find('m') != std::string::npos;
        const std::string major = number(r.major), minor = number(r.minor);
        auto line = [&](char type) {
            return concat({std::string_view(&type, 1), " ", major, ":", minor, " ", access});
        };
        if (r.type == 'a' && !r.major && !r.minor && full_access) {
            // Every device, every access: resets the cgroup to allow-all or deny-all.
            out.emplace_back(r.allow, "a *:* rwm");
        } else if (r.type == 'a') {
            out.emplace_back(r.allow, line('c'));
            out.emplace_back(r.allow, line('b'));
        } else {
            out.emplace_back(r.allow, line(r.type));
        }
    }
    return out;
}

void apply_devices(const std::string& dir, const std::vector<oci::DeviceRule>& rules) {
    auto writes = device_writes(rules);
    if (writes.empty()) return;
    CgroupFile allow_file(dir, "devices.allow");
    CgroupFile deny_file(dir, "devices.deny");
    for (const auto& [allow, line] : writes)
        (allow ? allow_file : deny_file).write(line);
}

}  // namespace berth::runtime::cgroup::v1
