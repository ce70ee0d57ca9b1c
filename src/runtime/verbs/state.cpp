#include "common/file.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "runtime/verbs/verbs.hpp"

namespace berth::runtime {
namespace {

std::string owner_name(uid_t uid) {
    if (auto passwd = read_file_if_exists("/etc/passwd")) {
        for (const auto& line : split(*passwd, '\n')) {
            auto f = split(line, ':');
            if (f.size() >= 3 && parse_uint64(f[2]) == uid) return f[0];
        }
    }
    return "#" + std::to_string(uid);
}

nlohmann::ordered_json document(const StateRoot& root, const ContainerState& s) {
    oci::Status status = current_status(root, s);
    nlohmann::ordered_json j;
    j["ociVersion"] = oci::kSpecVersion;
    j["id"] = s.id;
    j["pid"] = status == oci::Status::stopped ? 0 : s.pid;
    j["status"] = oci::status_name(status);
    j["bundle"] = s.bundle;
    j["rootfs"] = s.rootfs;
    j["created"] = s.created;
    j["owner"] = owner_name(s.owner);
    if (!s.annotations.empty()) j["annotations"] = s.annotations;
    return j;
}

}  // namespace

nlohmann::ordered_json state_document(const StateRoot& root, const std::string& id) {
    return document(root, root.load(id));
}

std::vector<nlohmann::ordered_json> list_containers(const StateRoot& root) {
    std::vector<nlohmann::ordered_json> out;
    for (const auto& id : root.list()) {
        try {
            out.push_back(document(root, root.load(id)));
        } catch (const std::exception& e) {
            log::warn("container " + id + ": " + e.what());
        }
    }
    return out;
}

}  // namespace berth::runtime
