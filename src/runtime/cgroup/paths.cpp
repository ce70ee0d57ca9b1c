#include "runtime/cgroup/paths.hpp"

#include <vector>

#include "common/error.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"

namespace berth::runtime::cgroup {
namespace {

constexpr const char* kField = "linux.cgroupsPath";

[[noreturn]] void invalid(std::string_view value, std::string_view why) {
    throw Error(std::string(kField) + ": \"" + std::string(value) + "\" " + std::string(why));
}

// Lexically cleans path; returns the components. Rejects ".." that climbs above the start.
std::vector<std::string> components(std::string_view original, std::string_view path) {
    std::vector<std::string> parts;
    for (const auto& part : split(path, '/')) {
        if (part.empty() || part == ".") continue;
        if (part == "..") {
            if (parts.empty()) invalid(original, "escapes its parent cgroup with \"..\"");
            parts.pop_back();
            continue;
        }
        parts.push_back(part);
    }
    return parts;
}

void reject_control_characters(std::string_view value) {
    for (char c : value)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            invalid(value, "contains a control character");
}

std::string unit_name(const std::string& prefix, const std::string& name) {
    if (name.size() > 6 && name.compare(name.size() - 6, 6, ".slice") == 0) return name;
    if (prefix.empty()) return name + ".scope";
    return prefix + "-" + name + ".scope";
}

CgroupPath systemd_path(const Options& options) {
    std::string slice, prefix, name;
    if (options.cgroups_path.empty()) {
        slice = options.rootless ? "user.slice" : "system.slice";
        prefix = "berth";
        name = options.container_id;
    } else {
        auto parts = split(options.cgroups_path, ':');
        if (parts.size() != 3)
            invalid(options.cgroups_path,
                    "is not of the form \"slice:prefix:name\" required by --systemd-cgroup");
        slice = parts[0].empty() ? (options.rootless ? "user.slice" : "system.slice") : parts[0];
        prefix = parts[1];
        name = parts[2];
    }
    if (name.empty() || name.find('/') != std::string::npos ||
        prefix.find('/') != std::string::npos || name == "." || name == "..")
        invalid(options.cgroups_path, "has an invalid unit name for --systemd-cgroup");
    std::string expanded;
    try {
        expanded = expand_slice(slice);
    } catch (const Error& e) {
        invalid(options.cgroups_path, e.what());
    }
    static bool warned = false;
    if (!warned) {
        warned = true;
        log::warn(
            "--systemd-cgroup: berth-runtime manages the systemd cgroup layout through cgroupfs");
    }
    CgroupPath out;
    out.absolute = true;
    out.path = (expanded == "/" ? std::string() : expanded) + "/" + unit_name(prefix, name);
    return out;
}

}  // namespace

std::string expand_slice(std::string_view slice) {
    constexpr std::string_view suffix = ".slice";
    if (slice.size() <= suffix.size() || slice.substr(slice.size() - suffix.size()) != suffix ||
        slice.find('/') != std::string_view::npos)
        throw Error("invalid slice name \"" + std::string(slice) + "\"");
    std::string_view stem = slice.substr(0, slice.size() - suffix.size());
    if (stem == "-") return "/";
    std::string path, prefix;
    for (const auto& component : split(stem, '-')) {
        if (component.empty()) throw Error("invalid slice name \"" + std::string(slice) + "\"");
        path += '/';
        path += prefix;
        path += component;
        path += suffix;
        prefix += component;
        prefix += '-';
    }
    return path;
}

CgroupPath resolve_cgroups_path(const Options& options) {
    reject_control_characters(options.cgroups_path);
    reject_control_characters(options.container_id);
    if (options.systemd) return systemd_path(options);

    const std::string& raw =
        options.cgroups_path.empty() ? options.container_id : options.cgroups_path;
    if (raw.empty())
        throw Error(std::string(kField) + ": empty, and no container id to name the cgroup");
    CgroupPath out;
    out.absolute = raw[0] == '/';
    auto parts = components(raw, raw);
    if (parts.empty())
        invalid(raw, out.absolute ? "is the root of the cgroup hierarchy"
                                  : "is the runtime's own cgroup");
    out.path = join(parts, "/");
    if (out.absolute) out.path.insert(0, "/");
    return out;
}

std::string own_cgroup_in_hierarchy(const Hierarchy& h) {
    // The runtime's own cgroup, seen from the mount's root; the mount's root itself when the
    // own cgroup is outside what is mounted.
    const std::string& root = h.root;
    const std::string& self = h.current.empty() ? std::string("/") : h.current;
    if (root.empty() || root == "/") return self;
    if (self.size() > root.size() && self.compare(0, root.size(), root) == 0 &&
        self[root.size()] == '/')
        return self.substr(root.size());
    return "/";
}

std::string path_in_hierarchy(const CgroupPath& path, const Hierarchy& h) {
    // Absolute: below the mountpoint as it is, as runc does (whatever subtree is mounted).
    if (path.absolute) return path.path;
    // Relative: below the runtime's own cgroup.
    std::string base = own_cgroup_in_hierarchy(h);
    if (base.back() != '/') base += '/';
    return base + path.path;
}

}  // namespace berth::runtime::cgroup
