#include "runtime/cgroup/layout.hpp"

#include <algorithm>

#include "common/file.hpp"
#include "common/strings.hpp"

namespace berth::runtime::cgroup {
namespace {

struct Names {
    Controller controller;
    const char* v1;
    const char* v2;
};

constexpr std::array<Names, kControllerCount> kNames = {{
    {Controller::cpu, "cpu", "cpu"},
    {Controller::cpuacct, "cpuacct", nullptr},
    {Controller::cpuset, "cpuset", "cpuset"},
    {Controller::memory, "memory", "memory"},
    {Controller::pids, "pids", "pids"},
    {Controller::blkio, "blkio", "io"},
    {Controller::hugetlb, "hugetlb", "hugetlb"},
    {Controller::net_cls, "net_cls", nullptr},
    {Controller::net_prio, "net_prio", nullptr},
    {Controller::devices, "devices", nullptr},
    {Controller::freezer, "freezer", nullptr},
}};

// Decodes the octal escapes that the kernel uses for spaces, tabs, newlines and backslashes.
std::string unescape_mount_field(std::string_view field) {
    auto is_octal = [](char c) { return c >= '0' && c <= '7'; };
    std::string out;
    out.reserve(field.size());
    for (size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 3 < field.size() && is_octal(field[i + 1]) &&
            is_octal(field[i + 2]) && is_octal(field[i + 3])) {
            out += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
                                     (field[i + 3] - '0'));
            i += 3;
            continue;
        }
        out += field[i];
    }
    return out;
}

std::vector<std::string_view> fields_of(std::string_view line) {
    std::vector<std::string_view> fields;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ')
            ++i;
        size_t start = i;
        while (i < line.size() && line[i] != ' ')
            ++i;
        if (i > start) fields.push_back(line.substr(start, i - start));
    }
    return fields;
}

bool contains_token(std::string_view list, std::string_view token) {
    size_t start = 0;
    while (start <= list.size()) {
        size_t end = list.find(',', start);
        if (end == std::string_view::npos) end = list.size();
        if (list.substr(start, end - start) == token) return true;
        start = end + 1;
    }
    return false;
}

}  // namespace

const char* v1_name(Controller c) {
    return kNames[static_cast<size_t>(c)].v1;
}
const char* v2_name(Controller c) {
    return kNames[static_cast<size_t>(c)].v2;
}
const char* controller_name(Controller c) {
    return kNames[static_cast<size_t>(c)].v1;
}

std::optional<Controller> controller_from_name(std::string_view name) {
    for (const auto& n : kNames)
        if (name == n.v1) return n.controller;
    return std::nullopt;
}

std::vector<MountEntry> parse_mountinfo(std::string_view text) {
    std::vector<MountEntry> out;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        // Cheap filter first: only cgroup filesystems matter.
        size_t sep = line.find(" - ");
        if (sep == std::string_view::npos) continue;
        std::string_view tail = line.substr(sep + 3);
        if (tail.rfind("cgroup ", 0) != 0 && tail.rfind("cgroup2 ", 0) != 0) continue;
        auto head = fields_of(line.substr(0, sep));
        auto rest = fields_of(tail);
        if (head.size() < 5 || rest.size() < 3) continue;
        MountEntry e;
        e.root = unescape_mount_field(head[3]);
        e.mountpoint = unescape_mount_field(head[4]);
        e.fstype = std::string(rest[0]);
        e.super_options = std::string(rest[2]);
        out.push_back(std::move(e));
    }
    return out;
}

std::vector<ProcCgroupEntry> parse_proc_cgroup(std::string_view text) {
    std::vector<ProcCgroupEntry> out;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        size_t first = line.find(':');
        if (first == std::string_view::npos) continue;
        size_t second = line.find(':', first + 1);
        if (second == std::string_view::npos) continue;
        ProcCgroupEntry e;
        e.controllers = std::string(line.substr(first + 1, second - first - 1));
        e.path = std::string(line.substr(second + 1));
        if (e.path.empty()) e.path.push_back('/');
        out.push_back(std::move(e));
    }
    return out;
}

Layout build_layout(const std::vector<MountEntry>& mounts, const std::vector<ProcCgroupEntry>& self,
                    std::string_view unified_controllers) {
    Layout layout;
    bool have_v1_controllers = false;
    bool have_unified = false;
    bool unified_at_top = false;
    for (const auto& m : mounts) {
        Hierarchy h;
        h.mountpoint = m.mountpoint;
        h.root = m.root.empty() ? "/" : m.root;
        if (m.fstype == "cgroup2") {
            h.unified = true;
        } else {
            // The hierarchy's name is the set of controllers (and name=) in its options, in the
            // form /proc/self/cgroup uses; that is also the data to mount it again.
            const ProcCgroupEntry* match = nullptr;
            for (const auto& s : self) {
                if (s.controllers.empty()) continue;
                bool all = true;
                for (const auto& c : split(s.controllers, ','))
                    all = all && contains_token(m.super_options, c);
                if (all) {
                    match = &s;
                    break;
                }
            }
            if (match) {
                h.controllers = match->controllers;
            } else {
                // Not in /proc/self/cgroup (another cgroup namespace view): take the known names.
                std::vector<std::string> names;
                for (const auto& opt : split(m.super_options, ',')) {
                    if (opt.rfind("name=", 0) == 0 || controller_from_name(opt) ||
                        opt == "perf_event" || opt == "rdma" || opt == "misc")
                        names.push_back(opt);
                }
                if (names.empty()) continue;
                h.controllers = join(names, ",");
            }
        }
        // One entry per hierarchy: a second mount of the same one (a bind mount) is skipped,
        // unless the first showed only a subtree and this one shows the root.
        auto same = std::find_if(
            layout.hierarchies.begin(), layout.hierarchies.end(), [&](const Hierarchy& o) {
                return o.unified == h.unified && o.controllers == h.controllers;
            });
        if (same != layout.hierarchies.end()) {
            if (same->root != "/" && h.root == "/") *same = h;
            continue;
        }
        if (h.unified) {
            have_unified = true;
            unified_at_top = h.mountpoint == "/sys/fs/cgroup";
        } else {
            for (const auto& c : split(h.controllers, ','))
                if (c.rfind("name=", 0) != 0) have_v1_controllers = true;
        }
        layout.hierarchies.push_back(std::move(h));
    }
    // Where this process is in each hierarchy.
    for (auto& h : layout.hierarchies) {
        for (const auto& s : self) {
            if ((h.unified && s.controllers.empty()) ||
                (!h.unified && s.controllers == h.controllers)) {
                h.current = s.path;
                break;
            }
        }
    }
    if (have_unified && (unified_at_top || !have_v1_controllers))
        layout.mode = Mode::v2;
    else if (have_unified)
        layout.mode = Mode::hybrid;
    else
        layout.mode = Mode::v1;
    if (have_unified) {
        for (const auto& c : split(std::string(trim(unified_controllers)), ' '))
            if (!c.empty()) layout.v2_controllers.emplace_back(trim(c));
    }
    return layout;
}

Layout Layout::detect() {
    auto mounts = parse_mountinfo(read_file("/proc/self/mountinfo"));
    auto self = parse_proc_cgroup(read_file("/proc/self/cgroup"));
    std::string unified_controllers;
    for (const auto& m : mounts) {
        if (m.fstype != "cgroup2") continue;
        auto text = read_file_if_exists(m.mountpoint + "/cgroup.controllers");
        if (text) unified_controllers = *text;
        break;
    }
    return build_layout(mounts, self, unified_controllers);
}

std::optional<std::size_t> unified_index(const Layout& layout) {
    for (size_t i = 0; i < layout.hierarchies.size(); ++i)
        if (layout.hierarchies[i].unified) return i;
    return std::nullopt;
}

Owners locate_controllers(const Layout& layout) {
    Owners owners{};
    auto unified = unified_index(layout);
    for (Controller c : kAllControllers) {
        auto& owner = owners[static_cast<size_t>(c)];
        for (size_t i = 0; i < layout.hierarchies.size() && !owner; ++i) {
            const auto& h = layout.hierarchies[i];
            if (!h.unified && contains_token(h.controllers, v1_name(c))) owner = i;
        }
        if (owner || !unified) continue;
        switch (c) {
            case Controller::cpuacct:  // cpu.stat usage is core on v2
            case Controller::devices:  // eBPF program
            case Controller::freezer:  // cgroup.freeze
                owner = unified;
                break;
            case Controller::net_cls:
            case Controller::net_prio:
                break;  // v1 only
            default:
                if (std::find(layout.v2_controllers.begin(), layout.v2_controllers.end(),
                              v2_name(c)) != layout.v2_controllers.end())
                    owner = unified;
                break;
        }
    }
    return owners;
}

}  // namespace berth::runtime::cgroup
