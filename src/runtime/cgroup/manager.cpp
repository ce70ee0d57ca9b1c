// The one manager for v1, hybrid and v2: decides per controller which hierarchy owns it
// (layout.cpp), resolves the container's directory in each hierarchy (paths.cpp) and
// delegates every setting to the controller's file under v1/ or v2/.
#include "runtime/cgroup/manager.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <functional>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/log.hpp"
#include "common/path.hpp"
#include "common/strings.hpp"
#include "runtime/cgroup/controllers.hpp"
#include "runtime/cgroup/files.hpp"
#include "runtime/cgroup/layout.hpp"
#include "runtime/cgroup/paths.hpp"
#include "runtime/cgroup/stats.hpp"
#include "runtime/cgroup/values.hpp"

namespace berth::runtime::cgroup {
namespace {

using nlohmann::json;

struct Place {
    Hierarchy hierarchy;
    std::string path;      // "/"-rooted, relative to the mountpoint
    std::string created;   // the topmost directory create() made (same form), empty if none
    bool skipped = false;  // rootless: the hierarchy could not be written
    bool made = false;     // create() has dealt with it (created it or found it)
    // The runtime's own cgroup (same form; set by open() only): where the container's
    // processes stay in a skipped hierarchy.
    std::string runtime_path;

    [[nodiscard]] std::string dir() const {
        return hierarchy.mountpoint + (path == "/" ? std::string() : path);
    }
    [[nodiscard]] std::string dir_of(const std::string& p) const {
        return hierarchy.mountpoint + p;
    }
};

const char* mode_name(Mode m) {
    switch (m) {
        case Mode::v1:
            return "v1";
        case Mode::hybrid:
            return "hybrid";
        case Mode::v2:
            return "v2";
    }
    return "v1";
}

// A saved path must name a cgroup below the hierarchy's root: "/"-rooted, clean, not "/".
// (Sweeping or signalling a hierarchy's root would reach every process on the host.)
bool valid_saved_path(const std::string& path) {
    if (path.size() < 2 || path[0] != '/' || path.back() == '/') return false;
    for (const auto& part : berth::split(path.substr(1), '/'))
        if (part.empty() || part == "." || part == "..") return false;
    return true;
}

Mode mode_from_name(const std::string& s) {
    if (s == "v1") return Mode::v1;
    if (s == "hybrid") return Mode::hybrid;
    if (s == "v2") return Mode::v2;
    throw Error("saved cgroup state: unknown mode \"" + s + "\"");
}

bool permission_error(int code) {
    return code == EACCES || code == EPERM || code == EROFS;
}

void sleep_ms(long ms) {
    timespec ts{ms / 1000, (ms % 1000) * 1000000};
    ::nanosleep(&ts, nullptr);
}

// Which settings are present, per controller.
bool has_cpu(const oci::CpuResources& c) {
    return c.shares || c.quota || c.burst || c.period || c.realtime_runtime || c.realtime_period ||
           c.idle;
}
bool has_cpuset(const oci::CpuResources& c) {
    return !c.cpus.empty() || !c.mems.empty();
}
bool has_memory(const oci::MemoryResources& m) {
    return m.limit || m.reservation || m.swap || m.kernel || m.kernel_tcp || m.swappiness ||
           m.disable_oom_killer;
}
bool has_blkio(const oci::BlockIoResources& b) {
    return b.weight || b.leaf_weight || !b.weight_device.empty() || !b.throttle_read_bps.empty() ||
           !b.throttle_write_bps.empty() || !b.throttle_read_iops.empty() ||
           !b.throttle_write_iops.empty();
}

std::optional<Controller> controller_from_v2_name(std::string_view name) {
    for (Controller c : kAllControllers) {
        const char* n = v2_name(c);
        if (n != nullptr && name == n) return c;
    }
    return std::nullopt;
}

// rmdir that tolerates a cgroup going away and waits a little for dying tasks; removes
// child cgroups (made inside the container) first.
void remove_cgroup_dir(const std::string& dir) {
    long delay = 10;
    for (int attempt = 0;; ++attempt) {
        if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
        const int code = errno;
        if (code != EBUSY && code != ENOTEMPTY)
            throw_system_error(code, "cannot remove cgroup", dir);
        auto children = list_directory(dir, true);
        if (!children.empty() && attempt < 20) {
            for (const auto& child : children) {
                std::string sub = dir;
                sub += '/';
                sub += child;
                remove_cgroup_dir(sub);
            }
            continue;
        }
        if (attempt >= 6) throw_system_error(code, "cannot remove cgroup", dir);
        sleep_ms(delay);
        delay *= 2;
    }
}

class CgroupManager final : public Manager {
  public:
    CgroupManager(Mode mode, bool rootless, bool may_skip, std::vector<Place> places, Owners owners,
                  std::vector<std::string> enable, bool quiet_skips = false)
        : mode_(mode),
          rootless_(rootless),
          may_skip_(may_skip),
          quiet_skips_(quiet_skips),
          places_(std::move(places)),
          owners_(owners),
          enable_(std::move(enable)) {}

    [[nodiscard]] json to_json() const override {
        json hierarchies = json::array();
        for (const auto& p : places_) {
            json h = {{"controllers", p.hierarchy.controllers},
                      {"mountpoint", p.hierarchy.mountpoint},
                      {"unified", p.hierarchy.unified},
                      {"path", p.path}};
            if (!p.created.empty()) h["created"] = p.created;
            if (p.skipped) h["skipped"] = true;
            hierarchies.push_back(std::move(h));
        }
        json owners = json::object();
        for (Controller c : kAllControllers)
            if (auto o = owners_[static_cast<size_t>(c)]) owners[controller_name(c)] = *o;
        json out = {{"mode", mode_name(mode_)},
                    {"hierarchies", std::move(hierarchies)},
                    {"owners", std::move(owners)}};
        if (rootless_) out["rootless"] = true;
        if (!enable_.empty()) out["enable"] = enable_;
        return out;
    }

    void create() override { create_places(false); }
    void create_unified() override { create_places(true); }

    // Creates the places not made yet (only the unified one with unified_only), removing what
    // this call made if any fails.
    void create_places(bool unified_only) {
        std::vector<std::string> made;  // absolute directories, in the order they were made
        std::vector<std::string> skipped;
        std::vector<Place*> mine;
        std::string reason;
        try {
            for (auto& p : places_) {
                if (p.made || (unified_only && !p.hierarchy.unified)) continue;
                p.made = true;
                mine.push_back(&p);
                const size_t before = made.size();
                try {
                    create_in(p, made);
                } catch (const SystemError& e) {
                    if (!may_skip_ || !permission_error(e.code())) throw;
                    log::debug(std::string("rootless: ") + e.what());
                    while (made.size() > before) {
                        ::rmdir(made.back().c_str());
                        made.pop_back();
                    }
                    p.skipped = true;
                    p.created.clear();
                    skipped.push_back(p.hierarchy.unified ? std::string("cgroup2")
                                                          : p.hierarchy.controllers);
                    if (reason.empty()) reason = std::strerror(e.code());
                }
            }
        } catch (...) {
            for (auto it = made.rbegin(); it != made.rend(); ++it)
                ::rmdir(it->c_str());
            for (Place* p : mine) {
                p->created.clear();
                p->made = false;
            }
            throw;
        }
        // One line for all of them: runc says nothing, one warning per hierarchy is noise.
        if (!skipped.empty() && !quiet_skips_)
            log::warn("rootless: no cgroup for the container in " + join(skipped, ", ") + " (" +
                      reason +
                      ": not delegated to this user); it runs in the runtime's cgroups there");
    }

    void apply(const oci::Resources& r) override { set(r, ApplyContext{false}); }
    void update(const oci::Resources& r) override { set(r, ApplyContext{true}); }

    void add_process(pid_t pid) override {
        const std::string value = std::to_string(pid);
        for (auto& p : places_) {
            if (p.skipped) continue;
            try {
                cg_write(p.dir(), "cgroup.procs", value);
            } catch (const SystemError& e) {
                if (!rootless_ || !permission_error(e.code())) throw;
                log::warn("rootless: cannot move process " + value + " into " + p.dir() +
                          "; skipping that hierarchy");
                p.skipped = true;
            }
        }
    }

    void join_v1_self() override {
        for (const auto& p : places_)
            if (!p.skipped && !p.hierarchy.unified) cg_write(p.dir(), "tasks", "0");
    }

    void enter_v1() override {
        // Where we are now, per hierarchy, to come back to.
        auto own = read_file("/proc/self/cgroup");
        previous_.assign(places_.size(), std::string());
        for (size_t i = 0; i < places_.size(); ++i) {
            const Place& p = places_[i];
            if (p.skipped || p.hierarchy.unified) continue;
            previous_[i] = own_path(own, p.hierarchy);
            if (previous_[i].empty()) continue;
            cg_write(p.dir(), "tasks", "0");
        }
    }

    void leave_v1() override {
        for (size_t i = 0; i < previous_.size() && i < places_.size(); ++i) {
            if (previous_[i].empty()) continue;
            cg_write(places_[i].dir_of(previous_[i]), "tasks", "0");
        }
        previous_.clear();
    }

    [[nodiscard]] UniqueFd open_unified_dir() const override {
        for (const auto& p : places_) {
            if (!p.hierarchy.unified || p.skipped) continue;
            int fd = ::open(p.dir().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (fd < 0) throw_errno("open cgroup", p.dir());
            return UniqueFd(fd);
        }
        return UniqueFd();
    }

    void destroy() override {
        std::string first_error;
        for (auto it = places_.rbegin(); it != places_.rend(); ++it) {
            const Place& p = *it;
            // Skipped by create(): nothing was made. Skipped by add_process(): what create()
            // made is still ours to remove.
            if (p.skipped && p.created.empty()) continue;
            try {
                remove_cgroup_dir(p.dir());
                // Parents that create() made, up to the topmost: only while they are empty.
                if (!p.created.empty() && p.created != p.path) {
                    std::string cur = parent_path(p.path);
                    while (cur.size() > 1 && cur.size() >= p.created.size()) {
                        if (::rmdir(p.dir_of(cur).c_str()) < 0 && errno != ENOENT) break;  // in use
                        if (cur == p.created) break;
                        cur = parent_path(cur);
                    }
                }
            } catch (const std::exception& e) {
                if (first_error.empty()) first_error = e.what();
            }
        }
        if (!first_error.empty()) throw Error(first_error);
    }

    void freeze() override {
        auto [place, v2] = freezer();
        if (v2)
            v2::freeze(place->dir());
        else
            v1::freeze(place->dir());
    }

    void thaw() override {
        auto [place, v2] = freezer();
        if (v2)
            v2::thaw(place->dir());
        else
            v1::thaw(place->dir());
    }

    [[nodiscard]] bool frozen() const override {
        const Place* place = owner(Controller::freezer);
        if (place == nullptr) return false;
        return place->hierarchy.unified ? v2::frozen(place->dir()) : v1::frozen(place->dir());
    }

    [[nodiscard]] std::vector<pid_t> pids() const override {
        const Place* place = owner(Controller::freezer);
        if (place == nullptr) place = unified();
        if (place == nullptr) {
            for (const auto& p : places_)
                if (!p.skipped) {
                    place = &p;
                    break;
                }
        }
        if (place == nullptr) return {};
        auto out = read_pids_recursive(place->dir());
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
        return out;
    }

    [[nodiscard]] std::vector<pid_t> all_pids() const override {
        std::vector<pid_t> out;
        for (const auto& p : places_) {
            if (p.skipped) continue;
            auto more = read_pids_recursive(p.dir());
            out.insert(out.end(), more.begin(), more.end());
        }
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
        return out;
    }

    void kill_all(int signal) override {
        if (signal == SIGKILL) {
            if (const Place* u = unified(); u != nullptr && v2::kill(u->dir())) {
                // Tasks frozen by a v1 freezer die only once thawed (cgroup2's lets SIGKILL in).
                const Place* f = owner(Controller::freezer);
                if (f != nullptr && !f->hierarchy.unified && v1::frozen(f->dir()))
                    v1::thaw(f->dir());
                return;
            }
        }
        const bool can_freeze = owner(Controller::freezer) != nullptr;
        const bool was_frozen = can_freeze && frozen();
        bool froze = false;
        if (can_freeze && !was_frozen) {
            try {
                freeze();
                froze = true;
            } catch (const std::exception& e) {
                log::warn(std::string("kill: cannot freeze the container first: ") + e.what());
            }
        }
        std::string error;
        for (pid_t pid : pids()) {
            if (::kill(pid, signal) < 0 && errno != ESRCH && error.empty())
                error = "kill " + std::to_string(pid) + ": " + std::strerror(errno);
        }
        if (froze || (was_frozen && signal == SIGKILL)) thaw();
        if (!error.empty()) throw Error(error);
    }

    [[nodiscard]] json stats() const override {
        Stats s;
        auto dir = [&](Controller c) -> std::pair<std::string, bool> {
            const Place* p = owner(c);
            if (p == nullptr) return {std::string(), false};
            return {p->dir(), p->hierarchy.unified};
        };
        if (auto [d, v2] = dir(Controller::cpu); !d.empty())
            v2 ? v2::stats_cpu(d, s) : v1::stats_cpu(d, s);
        if (auto [d, v2] = dir(Controller::cpuacct); !d.empty()) {
            // On v2 the usage is in cpu.stat, which stats_cpu has read if the cpu controller
            // lives there too.
            if (!v2)
                v1::stats_cpuacct(d, s);
            else if (auto [cpu_dir, cpu_v2] = dir(Controller::cpu); !cpu_v2 || cpu_dir.empty()) {
                Stats usage;
                v2::stats_cpu(d, usage);
                s.cpu_usage = usage.cpu_usage;
            }
        }
        if (auto [d, v2] = dir(Controller::cpuset); !d.empty())
            v2 ? v2::stats_cpuset(d, s) : v1::stats_cpuset(d, s);
        if (auto [d, v2] = dir(Controller::memory); !d.empty())
            v2 ? v2::stats_memory(d, s) : v1::stats_memory(d, s);
        if (auto [d, v2] = dir(Controller::pids); !d.empty())
            v2 ? v2::stats_pids(d, s) : v1::stats_pids(d, s);
        if (auto [d, v2] = dir(Controller::blkio); !d.empty())
            v2 ? v2::stats_io(d, s) : v1::stats_blkio(d, s);
        if (auto [d, v2] = dir(Controller::hugetlb); !d.empty()) {
            auto sizes = hugepage_sizes();
            v2 ? v2::stats_hugetlb(d, sizes, s) : v1::stats_hugetlb(d, sizes, s);
        }
        return stats_to_json(s);
    }

    [[nodiscard]] std::vector<Placement> placements() const override {
        std::vector<Placement> out;
        for (const auto& p : places_) {
            if (!p.skipped)
                out.push_back(Placement{p.hierarchy, p.path, false});
            else if (!p.runtime_path.empty())
                out.push_back(Placement{p.hierarchy, p.runtime_path, true});
        }
        return out;
    }

    [[nodiscard]] Mode mode() const override { return mode_; }

  private:
    // The path of hierarchy h in a /proc/self/cgroup text, relative to its mountpoint.
    static std::string own_path(const std::string& proc_cgroup, const Hierarchy& h) {
        for (const auto& line : split(proc_cgroup, '\n')) {
            auto first = line.find(':');
            auto second = line.find(':', first + 1);
            if (first == std::string::npos || second == std::string::npos) continue;
            if (line.substr(first + 1, second - first - 1) != h.controllers) continue;
            std::string path = line.substr(second + 1);
            if (h.root != "/" && path.rfind(h.root, 0) == 0) path = path.substr(h.root.size());
            return path.empty() ? "/" : path;
        }
        return {};
    }

    std::vector<std::string> previous_;  // enter_v1(): where to go back to, per place
    [[nodiscard]] const Place* owner(Controller c) const {
        auto o = owners_[static_cast<size_t>(c)];
        if (!o || *o >= places_.size() || places_[*o].skipped) return nullptr;
        return &places_[*o];
    }

    [[nodiscard]] const Place* unified() const {
        for (const auto& p : places_)
            if (p.hierarchy.unified && !p.skipped) return &p;
        return nullptr;
    }

    std::pair<const Place*, bool> freezer() const {
        const Place* p = owner(Controller::freezer);
        if (p == nullptr) {
            auto o = owners_[static_cast<size_t>(Controller::freezer)];
            if (o && *o < places_.size() && places_[*o].skipped)
                throw Error(
                    "the container has no freezer cgroup (rootless: the cgroup was not delegated)");
            throw Error("the cgroup freezer is not available on this host");
        }
        return {p, p->hierarchy.unified};
    }

    // mkdir -p of the container's directory, remembering what it made; then the per-hierarchy
    // preparation (controllers on v2, cpuset values on v1).
    void create_in(Place& p, std::vector<std::string>& made) {
        std::vector<std::string> mine;  // relative paths made here, top-down
        const std::string leaf = p.dir();
        if (::mkdir(leaf.c_str(), 0755) == 0) {
            mine.push_back(p.path);
            made.push_back(leaf);
        } else if (errno == ENOENT) {
            std::string cur;
            for (const auto& part : split_path(p.path)) {
                cur += "/" + part;
                const std::string d = p.dir_of(cur);
                if (::mkdir(d.c_str(), 0755) == 0) {
                    mine.push_back(cur);
                    made.push_back(d);
                } else if (errno != EEXIST) {
                    throw_errno("cannot create cgroup", d);
                }
            }
        } else if (errno != EEXIST) {
            throw_errno("cannot create cgroup", leaf);
        }
        p.created = mine.empty() ? std::string() : mine.front();

        if (p.hierarchy.unified && !enable_.empty()) enable_controllers(p);
        if (!p.hierarchy.unified && has_token(p.hierarchy.controllers, "cpuset"))
            for (const auto& rel : mine)
                v1::prepare_cpuset(p.dir_of(rel));
    }

    static std::vector<std::string> split_path(const std::string& path) {
        std::vector<std::string> parts;
        size_t i = 0;
        while (i < path.size()) {
            size_t j = path.find('/', i);
            if (j == std::string::npos) j = path.size();
            if (j > i) parts.push_back(path.substr(i, j - i));
            i = j + 1;
        }
        return parts;
    }

    static bool has_token(const std::string& list, const std::string& token) {
        size_t start = 0;
        while (start <= list.size()) {
            size_t end = list.find(',', start);
            if (end == std::string::npos) end = list.size();
            if (list.compare(start, end - start, token) == 0) return true;
            start = end + 1;
        }
        return false;
    }

    // Controllers that live in cgroup2 must be enabled in cgroup.subtree_control of every
    // ancestor of the container's cgroup. Refusals are left for the settings to report
    // (an ancestor with processes of its own cannot enable domain controllers).
    // Ancestors that already have them are left alone: a write to subtree_control costs about
    // a millisecond even when it changes nothing, and this runs for every container.
    void enable_controllers(const Place& p) {
        std::string cur;  // from the mount's root down to the parent of the leaf
        auto parts = split_path(p.path);
        for (size_t i = 0; i < parts.size(); ++i) {
            const std::string d = p.dir_of(cur);
            const std::string dir = d.empty() ? std::string("/") : d;
            std::string all;
            auto enabled =
                split(trim(read_file_if_exists(dir + "/cgroup.subtree_control").value_or("")), ' ');
            for (const auto& c : enable_)
                if (std::find(enabled.begin(), enabled.end(), c) == enabled.end())
                    all += (all.empty() ? "+" : " +") + c;
            if (all.empty()) {
                cur += "/" + parts[i];
                continue;
            }
            try {
                cg_write(dir, "cgroup.subtree_control", all);
            } catch (const SystemError&) {
                for (const auto& c : enable_) {
                    try {
                        cg_write(dir, "cgroup.subtree_control", "+" + c);
                    } catch (const SystemError& e) {
                        log::debug(e.what());
                    }
                }
            }
            cur += "/" + parts[i];
        }
    }

    // The directory for a controller's settings; nullopt for device rules when rootless
    // skipped the hierarchy (runc ignores device cgroup errors when rootless: a user namespace
    // cannot create device nodes anyway). Any other setting for a skipped hierarchy is an
    // error, as in runc: a limit the user asked for is not silently left out.
    std::optional<std::pair<std::string, bool>> target(Controller c,
                                                       const std::string& setting) const {
        auto o = owners_[static_cast<size_t>(c)];
        if (!o || *o >= places_.size())
            throw Error(setting + ": the " + controller_name(c) +
                        " controller is not available on this host");
        const Place& p = places_[*o];
        if (p.skipped) {
            if (c == Controller::devices) {
                log::debug("rootless: " + setting + " skipped (no devices cgroup)");
                return std::nullopt;
            }
            throw Error(setting + ": cannot be applied: the container has no " +
                        controller_name(c) + " cgroup (rootless: " + p.hierarchy.mountpoint +
                        " is not delegated to this user)");
        }
        return std::make_pair(p.dir(), p.hierarchy.unified);
    }

    // Runs one controller's writer, giving its errors the setting's name.
    void run(Controller c, const std::string& setting,
             const std::function<void(const std::string&, bool)>& fn) const {
        auto t = target(c, setting);
        if (!t) return;
        try {
            fn(t->first, t->second);
        } catch (const SystemError& e) {
            if (rootless_ && c == Controller::devices && permission_error(e.code())) {
                log::debug("rootless: " + setting + " not applied: " + e.what());
                return;
            }
            std::string message = e.what();
            if (message.rfind("linux.resources", 0) != 0) message = setting + ": " + message;
            if (t->second && e.code() == ENOENT &&
                message.find("cannot write") != std::string::npos)
                message += std::string(" (the ") + (v2_name(c) ? v2_name(c) : controller_name(c)) +
                           " controller is not enabled for this cgroup)";
            throw SystemError(e.code(), message);
        } catch (const Error& e) {
            std::string message = e.what();
            if (message.rfind("linux.resources", 0) != 0) message = setting + ": " + message;
            throw Error(message);
        }
    }

    void set(const oci::Resources& r, const ApplyContext& ctx) {
        const std::string base = "linux.resources";
        if (r.cpu && has_cpuset(*r.cpu))
            run(Controller::cpuset, base + ".cpu.cpus/mems", [&](const std::string& d, bool v2) {
                v2 ? v2::apply_cpuset(d, *r.cpu) : v1::apply_cpuset(d, *r.cpu);
            });
        if (!r.devices.empty())
            run(Controller::devices, base + ".devices", [&](const std::string& d, bool v2) {
                v2 ? v2::apply_devices(d, r.devices) : v1::apply_devices(d, r.devices);
            });
        if (r.memory && has_memory(*r.memory))
            run(Controller::memory, base + ".memory", [&](const std::string& d, bool v2) {
                v2 ? v2::apply_memory(d, *r.memory, ctx) : v1::apply_memory(d, *r.memory, ctx);
            });
        if (r.cpu && has_cpu(*r.cpu))
            run(Controller::cpu, base + ".cpu", [&](const std::string& d, bool v2) {
                v2 ? v2::apply_cpu(d, *r.cpu, ctx) : v1::apply_cpu(d, *r.cpu, ctx);
            });
        if (r.pids_limit)
            run(Controller::pids, base + ".pids", [&](const std::string& d, bool v2) {
                v2 ? v2::apply_pids(d, *r.pids_limit) : v1::apply_pids(d, *r.pids_limit);
            });
        if (r.block_io && has_blkio(*r.block_io))
            run(Controller::blkio, base + ".blockIO", [&](const std::string& d, bool v2) {
                v2 ? v2::apply_io(d, *r.block_io) : v1::apply_blkio(d, *r.block_io);
            });
        if (!r.hugepage_limits.empty())
            run(Controller::hugetlb, base + ".hugepageLimits", [&](const std::string& d, bool v2) {
                v2 ? v2::apply_hugetlb(d, r.hugepage_limits)
                   : v1::apply_hugetlb(d, r.hugepage_limits);
            });
        if (r.network) set_network(*r.network);
        if (!r.unified.empty()) set_unified(r.unified);
    }

    void set_network(const oci::NetworkResources& n) {
        // net_cls and net_prio exist only in cgroup v1; v2 filters by cgroup path instead.
        const bool v2_host = mode_ == Mode::v2;
        if (n.class_id) {
            if (v2_host && !owner(Controller::net_cls))
                log::warn(
                    "linux.resources.network.classID: cgroup v2 has no net_cls controller; "
                    "ignored");
            else
                run(Controller::net_cls, "linux.resources.network.classID",
                    [&](const std::string& d, bool) { v1::apply_net_cls(d, *n.class_id); });
        }
        if (!n.priorities.empty()) {
            if (v2_host && !owner(Controller::net_prio))
                log::warn(
                    "linux.resources.network.priorities: cgroup v2 has no net_prio controller; "
                    "ignored");
            else
                run(Controller::net_prio, "linux.resources.network.priorities",
                    [&](const std::string& d, bool) { v1::apply_net_prio(d, n.priorities); });
        }
    }

    void set_unified(const std::map<std::string, std::string>& values) {
        const Place* u = nullptr;
        for (const auto& p : places_)
            if (p.hierarchy.unified) u = &p;
        if (u == nullptr)
            throw Error(
                "linux.resources.unified: needs cgroup v2, and this host has no cgroup2 hierarchy");
        if (u->skipped)
            throw Error(
                "linux.resources.unified: cannot be applied: the container has no cgroup2 cgroup "
                "(rootless: " +
                u->hierarchy.mountpoint + " is not delegated to this user)");
        const size_t unified_pos = static_cast<size_t>(u - places_.data());
        for (const auto& [key, value] : values) {
            const std::string prefix = key.substr(0, key.find('.'));
            auto c = controller_from_v2_name(prefix);
            if (!c)
                continue;  // core files and controllers berth does not model: written as they are
            auto o = owners_[static_cast<size_t>(*c)];
            if (!o)
                throw Error(concat({"linux.resources.unified.", key, ": the ", prefix,
                                    " controller is not available on this host"}));
            if (*o != unified_pos)
                throw Error(concat({"linux.resources.unified.", key, ": the ", prefix,
                                    " controller is managed through cgroup v1 on this host"}));
        }
        try {
            v2::apply_unified(u->dir(), values);
        } catch (const SystemError& e) {
            std::string message = e.what();
            if (message.rfind("linux.resources", 0) != 0)
                message = "linux.resources.unified: " + message;
            throw SystemError(e.code(), message);
        }
    }

    Mode mode_;
    bool rootless_;
    bool may_skip_;  // create(): rootless without a cgroupsPath, as runc
    bool quiet_skips_;
    std::vector<Place> places_;
    Owners owners_;
    std::vector<std::string> enable_;  // v2 controllers to enable in the ancestors
};

std::vector<std::string> controllers_to_enable(const Layout& layout, const Owners& owners) {
    std::vector<std::string> out;
    auto u = unified_index(layout);
    if (!u) return out;
    for (Controller c : kAllControllers) {
        const char* name = v2_name(c);
        if (name == nullptr || owners[static_cast<size_t>(c)] != u) continue;
        if (std::find(out.begin(), out.end(), name) == out.end()) out.emplace_back(name);
    }
    return out;
}

}  // namespace

std::unique_ptr<Manager> Manager::open(const Options& options) {
    return open(options, Layout::detect());
}

std::unique_ptr<Manager> Manager::open(const Options& options, const Layout& layout) {
    CgroupPath path = resolve_cgroups_path(options);
    std::vector<Place> places;
    places.reserve(layout.hierarchies.size());
    for (const auto& h : layout.hierarchies) {
        Place p;
        p.hierarchy = h;
        p.path = path_in_hierarchy(path, h);
        p.runtime_path = own_cgroup_in_hierarchy(h);
        if (!valid_saved_path(p.path))
            throw Error("linux.cgroupsPath: resolves to \"" + p.path + "\" in " + h.mountpoint);
        places.push_back(std::move(p));
    }
    Owners owners = locate_controllers(layout);
    auto enable = controllers_to_enable(layout, owners);
    // runc skips what it cannot create only without an explicit path: a cgroupsPath the user
    // named and cannot have is an error.
    const bool may_skip = options.rootless && options.cgroups_path.empty();
    return std::make_unique<CgroupManager>(layout.mode, options.rootless, may_skip,
                                           std::move(places), owners, std::move(enable),
                                           options.quiet_skips);
}

std::unique_ptr<Manager> Manager::from_json(const json& saved) {
    try {
        Mode mode = mode_from_name(saved.at("mode").get<std::string>());
        bool rootless = saved.value("rootless", false);
        std::vector<Place> places;
        for (const auto& h : saved.at("hierarchies")) {
            Place p;
            p.hierarchy.controllers = h.at("controllers").get<std::string>();
            p.hierarchy.mountpoint = h.at("mountpoint").get<std::string>();
            p.hierarchy.unified = h.at("unified").get<bool>();
            p.path = h.at("path").get<std::string>();
            p.created = h.value("created", std::string());
            p.skipped = h.value("skipped", false);
            const bool created_ok =
                p.created.empty() ||
                (valid_saved_path(p.created) &&
                 (p.created == p.path || p.path.rfind(p.created + "/", 0) == 0));
            if (!valid_saved_path(p.path) || !created_ok || p.hierarchy.mountpoint.empty() ||
                p.hierarchy.mountpoint[0] != '/')
                throw Error("invalid path \"" + p.path + "\" in hierarchy " +
                            p.hierarchy.mountpoint);
            places.push_back(std::move(p));
        }
        Owners owners{};
        for (const auto& [name, index] : saved.at("owners").items()) {
            auto c = controller_from_name(name);
            if (!c) continue;  // a controller a later version knows
            size_t i = index.get<size_t>();
            if (i >= places.size()) throw Error("owner of " + name + " out of range");
            owners[static_cast<size_t>(*c)] = i;
        }
        std::vector<std::string> enable = saved.value("enable", std::vector<std::string>{});
        return std::make_unique<CgroupManager>(mode, rootless, false, std::move(places), owners,
                                               std::move(enable));
    } catch (const json::exception& e) {
        throw Error(std::string("saved cgroup state: ") + e.what());
    } catch (const Error& e) {
        std::string message = e.what();
        if (message.rfind("saved cgroup state", 0) == 0) throw;
        throw Error("saved cgroup state: " + message);
    }
}

}  // namespace berth::runtime::cgroup
