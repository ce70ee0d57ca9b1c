#include "runtime/container_state.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <filesystem>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/json_reader.hpp"
#include "common/strings.hpp"
#include "common/time.hpp"

namespace berth::runtime {

nlohmann::json to_json(const ContainerState& s) {
    return {{"id", s.id},
            {"bundle", s.bundle},
            {"rootfs", s.rootfs},
            {"pid", s.pid},
            {"pid_start_time", s.pid_start_time},
            {"created", s.created},
            {"owner", s.owner},
            {"annotations", s.annotations},
            {"cgroup", s.cgroup},
            {"own_pid_namespace", s.own_pid_namespace},
            {"paused", s.paused},
            {"rootless", s.rootless},
            {"systemd_cgroup", s.systemd_cgroup},
            {"poststop_hooks", s.poststop_hooks}};
}

ContainerState container_state_from_json(const nlohmann::json& j) {
    ContainerState s;
    JsonReader r(j, "state");
    s.id = r.at("id").as_string();
    s.bundle = r.string_or("bundle");
    s.rootfs = r.string_or("rootfs");
    s.pid = static_cast<pid_t>(r.opt_int("pid", 0, INT32_MAX).value_or(0));
    s.pid_start_time = r.opt_uint("pid_start_time").value_or(0);
    s.created = r.string_or("created");
    s.owner = static_cast<uid_t>(r.opt_uint("owner", UINT32_MAX).value_or(0));
    if (auto ann = r.find("annotations")) s.annotations = ann->as_string_map();
    if (auto cg = r.find("cgroup")) s.cgroup = cg->node();
    s.own_pid_namespace = r.bool_or("own_pid_namespace", true);
    s.paused = r.bool_or("paused");
    s.rootless = r.bool_or("rootless");
    s.systemd_cgroup = r.bool_or("systemd_cgroup");
    s.poststop_hooks = r.bool_or("poststop_hooks", true);
    return s;
}

void StateRoot::validate_id(const std::string& id) {
    bool ok = !id.empty() && id != "." && id != ".." && id.size() <= 1024;
    for (char c : id) {
        bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '_' || c == '+' || c == '-' || c == '.';
        ok = ok && allowed;
    }
    if (!ok)
        throw Error("invalid container id \"" + id + "\": use letters, digits, '_', '+', '-', '.'");
}

UniqueFd StateRoot::create(const std::string& id) const {
    validate_id(id);
    if (::mkdir(dir_.c_str(), 0711) < 0 && errno != EEXIST) {
        std::error_code ec;
        std::filesystem::create_directories(dir_, ec);
        if (ec) throw Error("mkdir " + dir_ + ": " + ec.message());
    }
    // Unprivileged: a state root someone else made (the /tmp fallback is a guessable name)
    // would let them rewrite our containers' state.
    struct stat root_st {};
    if (::geteuid() != 0 && ::stat(dir_.c_str(), &root_st) == 0 && root_st.st_uid != ::geteuid())
        throw Error("state root " + dir_ + " belongs to uid " + std::to_string(root_st.st_uid) +
                    ", not to this user (choose another with --root or XDG_RUNTIME_DIR)");
    std::string path = container_dir(id);
    if (::mkdir(path.c_str(), 0711) < 0) {
        if (errno == EEXIST) throw Error("container \"" + id + "\" already exists");
        throw_errno("mkdir", path);
    }
    UniqueFd fd = open_file(path, O_RDONLY | O_DIRECTORY);
    if (::flock(fd.get(), LOCK_EX) < 0) throw_errno("flock", path);
    return fd;
}

UniqueFd StateRoot::lock(const std::string& id, bool exclusive) const {
    validate_id(id);
    std::string path = container_dir(id);
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) throw Error("container \"" + id + "\" does not exist");
        throw_errno("open", path);
    }
    UniqueFd owned(fd);
    if (::flock(owned.get(), exclusive ? LOCK_EX : LOCK_SH) < 0) throw_errno("flock", path);
    return owned;
}

bool StateRoot::exists(const std::string& id) const {
    struct stat st {};
    return ::stat((container_dir(id) + "/state.json").c_str(), &st) == 0;
}

ContainerState StateRoot::load(const std::string& id) const {
    validate_id(id);
    auto text = read_file_if_exists(container_dir(id) + "/state.json");
    if (!text) throw Error("container \"" + id + "\" does not exist");
    return container_state_from_json(parse_json(*text, container_dir(id) + "/state.json"));
}

void StateRoot::save(const ContainerState& state) const {
    // Runtime state is meaningless after a reboot: atomic for readers, never forced to disk.
    replace_file(container_dir(state.id) + "/state.json", to_json(state).dump(), 0600);
}

void StateRoot::remove(const std::string& id) const {
    std::error_code ec;
    std::filesystem::remove_all(container_dir(id), ec);
    if (ec) throw Error("remove " + container_dir(id) + ": " + ec.message());
}

std::vector<std::string> StateRoot::list() const {
    std::vector<std::string> ids;
    DIR* dir = ::opendir(dir_.c_str());
    if (!dir) {
        if (errno == ENOENT) return ids;
        throw_errno("open", dir_);
    }
    while (dirent* entry = ::readdir(dir)) {
        std::string name = entry->d_name;
        if (name.empty() || name[0] == '.') continue;  // ".", "..", and our caches
        if (entry->d_type == DT_DIR || entry->d_type == DT_UNKNOWN) ids.push_back(name);
    }
    ::closedir(dir);
    std::sort(ids.begin(), ids.end());
    return ids;
}

std::optional<uint64_t> process_start_time(pid_t pid) {
    auto text = read_file_if_exists("/proc/" + std::to_string(pid) + "/stat");
    if (!text) return std::nullopt;
    // The command name (field 2) may hold spaces and parentheses: skip to the last ')'.
    size_t close = text->rfind(')');
    if (close == std::string::npos) return std::nullopt;
    auto fields = split(std::string_view(*text).substr(close + 2), ' ');
    // fields[0] is field 3 (state); start time is field 22.
    if (fields.size() < 20) return std::nullopt;
    if (fields[0] == "Z" || fields[0] == "X") return std::nullopt;  // exited, not yet reaped
    return parse_uint64(fields[19]);
}

bool init_alive(const ContainerState& state) {
    if (state.pid <= 0) return false;
    auto start = process_start_time(state.pid);
    return start && *start == state.pid_start_time;
}

std::vector<pid_t> processes_in_pid_namespace(pid_t init) {
    // The init itself may be out of our reach until it execs (it is not dumpable).
    std::vector<pid_t> pids{init};
    struct stat ns {};
    if (::stat(("/proc/" + std::to_string(init) + "/ns/pid").c_str(), &ns) < 0) return pids;
    DIR* proc = ::opendir("/proc");
    if (!proc) throw_errno("open", "/proc");
    while (dirent* entry = ::readdir(proc)) {
        auto pid = parse_int64(entry->d_name);
        if (!pid || *pid <= 0 || *pid == init) continue;
        struct stat st {};
        // Unreadable (another user's process): not one of ours.
        if (::stat(("/proc/" + std::string(entry->d_name) + "/ns/pid").c_str(), &st) == 0 &&
            st.st_ino == ns.st_ino && st.st_dev == ns.st_dev)
            pids.push_back(static_cast<pid_t>(*pid));
    }
    ::closedir(proc);
    std::sort(pids.begin(), pids.end());
    return pids;
}

oci::Status current_status(const StateRoot& root, const ContainerState& state) {
    if (!init_alive(state)) return oci::Status::stopped;
    struct stat st {};
    if (::stat(root.start_socket_path(state.id).c_str(), &st) == 0) return oci::Status::created;
    return state.paused ? oci::Status::paused : oci::Status::running;
}

}  // namespace berth::runtime
