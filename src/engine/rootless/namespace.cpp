#include "engine/rootless/namespace.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <optional>
#include <vector>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "common/user_namespace.hpp"
#include "engine/process_identity.hpp"
#include "engine/subprocess.hpp"

namespace berth::engine {
namespace {

struct IdRange {
    uint64_t start = 0;
    uint64_t count = 0;
};

// The host id that uid 0 of this user namespace is (the inside-0 line of uid_map).
uid_t outside_uid_of_zero() {
    auto text = read_file_if_exists("/proc/self/uid_map");
    if (!text) return 0;
    for (const auto& line : split(*text, '\n')) {
        std::vector<std::string> fields;
        for (const auto& f : split(line, ' '))
            if (!f.empty()) fields.push_back(f);
        if (fields.size() == 3 && fields[0] == "0")
            return static_cast<uid_t>(parse_uint64(fields[1]).value_or(0));
    }
    return 0;
}

// /etc/subuid or /etc/subgid lines for this user (by name or by number), in file order.
std::vector<IdRange> subordinate_ranges(const std::string& file, uid_t uid) {
    std::vector<IdRange> out;
    auto text = read_file_if_exists(file);
    if (!text) return out;
    std::string name;
    if (const passwd* pw = ::getpwuid(uid)) name = pw->pw_name;
    for (const auto& line : split(*text, '\n')) {
        std::vector<std::string> fields = split(line, ':');
        if (fields.size() != 3) continue;
        if (fields[0] != name && fields[0] != std::to_string(uid)) continue;
        auto start = parse_uint64(fields[1]);
        auto count = parse_uint64(fields[2]);
        if (start && count && *count > 0) out.push_back({*start, *count});
    }
    return out;
}

// newuidmap PID 0 UID 1 1 START COUNT ...: the user as 0, then its ranges one after another.
std::vector<std::string> map_command(const char* helper, pid_t pid, uint64_t own,
                                     const std::vector<IdRange>& ranges) {
    std::vector<std::string> argv = {helper, std::to_string(pid), "0", std::to_string(own), "1"};
    uint64_t inside = 1;
    for (const auto& r : ranges) {
        argv.push_back(std::to_string(inside));
        argv.push_back(std::to_string(r.start));
        argv.push_back(std::to_string(r.count));
        inside += r.count;
    }
    return argv;
}

void write_byte(int fd, char c) {
    (void)!::write(fd, &c, 1);
}

char read_byte(int fd) {
    char c = 0;
    ssize_t n = 0;
    do {
        n = ::read(fd, &c, 1);
    } while (n < 0 && errno == EINTR);
    return n == 1 ? c : '\0';
}

// The pause process: unshares, waits for its maps, then holds the namespaces until killed.
[[noreturn]] void be_pause_process(int report_fd, int go_fd) {
    pid_t self = ::getpid();
    (void)!::write(report_fd, &self, sizeof self);
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
        write_byte(report_fd, 'e');
        ::_exit(1);
    }
    write_byte(report_fd, 'u');
    if (read_byte(go_fd) != 'm') ::_exit(1);
    if (::setresgid(0, 0, 0) != 0 || ::setresuid(0, 0, 0) != 0) {
        write_byte(report_fd, 'e');
        ::_exit(1);
    }
    ::prctl(PR_SET_NAME, "berth-pause", 0, 0, 0);
    int null = ::open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3; ++fd)
        ::dup2(null, fd);
    write_byte(report_fd, 'r');
    ::close_range(3, ~0U, 0);
    ::chdir("/");
    ::signal(SIGINT, SIG_IGN);
    ::signal(SIGHUP, SIG_IGN);
    ::signal(SIGPIPE, SIG_IGN);
    for (;;)
        ::pause();
}

// Starts the pause process (a grandchild in a session of its own, so it outlives this
// invocation and belongs to no terminal) and gives it its id maps.
pid_t start_pause_process(uid_t uid, gid_t gid) {
    int report[2], go[2];
    if (::pipe2(report, O_CLOEXEC) != 0 || ::pipe2(go, O_CLOEXEC) != 0) throw_errno("pipe");
    UniqueFd report_read(report[0]), report_write(report[1]), go_read(go[0]), go_write(go[1]);
    pid_t intermediate = ::fork();
    if (intermediate < 0) throw_errno("fork");
    if (intermediate == 0) {
        ::setsid();
        pid_t pause = ::fork();
        if (pause < 0) ::_exit(1);
        if (pause == 0) be_pause_process(report_write.get(), go_read.get());
        ::_exit(0);
    }
    int status = 0;
    while (::waitpid(intermediate, &status, 0) < 0 && errno == EINTR) {
    }
    report_write.reset();
    go_read.reset();
    pid_t pause = 0;
    if (::read(report_read.get(), &pause, sizeof pause) != sizeof pause || pause <= 0)
        throw Error("rootless: the pause process did not start");
    auto kill_pause = [&] { ::kill(pause, SIGKILL); };
    if (read_byte(report_read.get()) != 'u') {
        kill_pause();
        throw Error(
            "rootless: cannot create a user namespace (is kernel.unprivileged_userns_clone "
            "off?)");
    }
    struct IdMap {
        const char* helper;
        const char* file;
        uint64_t own;
    };
    for (const IdMap& map :
         {IdMap{"newuidmap", "/etc/subuid", uid}, IdMap{"newgidmap", "/etc/subgid", gid}}) {
        const char* helper = map.helper;
        const char* file = map.file;
        const uint64_t own = map.own;
        std::vector<IdRange> ranges = subordinate_ranges(file, uid);
        if (ranges.empty())
            log::warn(std::string("rootless: no range for this user in ") + file +
                      ": only id 0 is mapped in containers");
        SubprocessResult r;
        try {
            r = run_subprocess(map_command(helper, pause, own, ranges));
        } catch (const Error& e) {
            kill_pause();
            throw Error(std::string("rootless: ") + helper + ": " + e.what() +
                        " (install the uidmap package)");
        }
        if (r.exit_code != 0) {
            kill_pause();
            throw Error(std::string("rootless: ") + helper +
                        " failed: " + std::string(trim(r.err.empty() ? r.out : r.err)));
        }
    }
    write_byte(go_write.get(), 'm');
    if (read_byte(report_read.get()) != 'r') {
        kill_pause();
        throw Error("rootless: the pause process could not become root in its namespace");
    }
    return pause;
}

void join_namespaces_of(pid_t pid) {
    std::string proc = "/proc/" + std::to_string(pid) + "/ns/";
    UniqueFd user = open_file(proc + "user", O_RDONLY | O_CLOEXEC);
    UniqueFd mount = open_file(proc + "mnt", O_RDONLY | O_CLOEXEC);
    char cwd[PATH_MAX];
    bool have_cwd = ::getcwd(cwd, sizeof cwd) != nullptr;
    if (::setns(user.get(), CLONE_NEWUSER) != 0) throw_errno("rootless: join the user namespace");
    if (::setns(mount.get(), CLONE_NEWNS) != 0) throw_errno("rootless: join the mount namespace");
    // setns(CLONE_NEWNS) moves the working directory to the namespace's root.
    if (!have_cwd || ::chdir(cwd) != 0) (void)!::chdir("/");
}

}  // namespace

bool rootless() {
    return ::geteuid() != 0 || !in_initial_user_namespace();
}

uid_t rootless_host_uid() {
    if (::geteuid() != 0) return ::geteuid();
    return outside_uid_of_zero();
}

std::string rootless_default_root() {
    const char* data = std::getenv("XDG_DATA_HOME");
    const char* home = std::getenv("HOME");
    std::string parent = data && *data
                             ? std::string(data)
                             : std::string(home && *home ? home : "/tmp") + "/.local/share";
    std::string partial;
    for (const auto& part : split(parent, '/')) {
        if (part.empty()) continue;
        partial += "/" + part;
        if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) throw_errno("mkdir", partial);
    }
    return parent + "/berth";
}

std::string rootless_run_directory() {
    const char* runtime_dir = std::getenv("XDG_RUNTIME_DIR");
    struct stat st {};
    std::string dir = runtime_dir && *runtime_dir && ::stat(runtime_dir, &st) == 0
                          ? std::string(runtime_dir) + "/berth"
                          : "/tmp/berth-run-" + std::to_string(rootless_host_uid());
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) throw_errno("mkdir", dir);
    if (::lstat(dir.c_str(), &st) != 0) throw_errno("stat", dir);
    if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid())
        throw Error("rootless: " + dir + " is not a directory of this user's");
    return dir;
}

void enter_rootless_namespace() {
    if (::geteuid() == 0) return;
    const uid_t uid = ::geteuid();
    const gid_t gid = ::getegid();
    std::string dir = rootless_run_directory();
    // One pause process per user: concurrent first invocations agree under the lock.
    UniqueFd lock = open_file(dir + "/pause.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (::flock(lock.get(), LOCK_EX) != 0) throw_errno("flock", dir + "/pause.lock");
    std::string pid_file = dir + "/pause.pid";
    pid_t pause = 0;
    if (auto text = read_file_if_exists(pid_file)) {
        std::vector<std::string> fields = split(std::string(trim(*text)), ' ');
        if (fields.size() == 2) {
            auto pid = parse_int64(fields[0]);
            auto start = parse_int64(fields[1]);
            if (pid && start && process_alive(*pid, *start)) pause = static_cast<pid_t>(*pid);
        }
    }
    if (pause == 0) {
        pause = start_pause_process(uid, gid);
        write_file_atomic(
            pid_file,
            std::to_string(pause) + " " + std::to_string(process_start_time(pause)) + "\n", 0600);
    }
    join_namespaces_of(pause);
}

}  // namespace berth::engine
