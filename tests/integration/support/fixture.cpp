#include "support/fixture.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;

namespace berth::test {

std::string env_or(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return v && *v ? v : fallback;
}

// The paths default to the build's own (tests/integration/CMakeLists.txt).

std::string runtime_binary() {
    return env_or("BERTH_RUNTIME", BERTH_RUNTIME_DEFAULT);
}
std::string source_dir() {
    return env_or("BERTH_SOURCE_DIR", BERTH_SOURCE_DIR_DEFAULT);
}
std::string busybox_rootfs_template() {
    return env_or("BERTH_TEST_ROOTFS", BERTH_TEST_ROOTFS_DEFAULT);
}

bool tar_busybox_template(const std::string& tarball, const std::vector<std::string>& options) {
    std::vector<std::string> argv{"tar", "--numeric-owner", "--warning=no-file-changed"};
    argv.insert(argv.end(), options.begin(), options.end());
    for (const char* a : {"-cf", tarball.c_str(), "-C"})
        argv.emplace_back(a);
    argv.push_back(busybox_rootfs_template());
    argv.emplace_back(".");
    auto r = run_command(argv);
    return r.exit_code == 0 || r.exit_code == 1;
}

std::string make_busybox_image(const std::string& dir) {
    std::string archive = dir + "/busybox-image.tar";
    CommandOptions options;
    options.env = {"TMPDIR=" + dir};
    auto r = run_command(
        {source_dir() + "/scripts/make-busybox-image.sh", busybox_rootfs_template(), archive},
        options);
    if (r.exit_code != 0) throw std::runtime_error("make-busybox-image.sh: " + r.describe());
    return archive;
}

TempDir::TempDir(const std::string& prefix) {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
}

TempDir::~TempDir() {
    // A failed test may leave a mount here; never let remove_all walk into the host.
    for (const auto& m : mounts_under(path_))
        ::umount2(m.c_str(), MNT_DETACH);
    // remove_all gives up at the first entry that vanishes under it: a pull's detached flush
    // (image/durability.hpp) may delete its snapshot's pending-sync marker meanwhile.
    std::error_code ec;
    for (int attempt = 0; attempt < 5; ++attempt) {
        fs::remove_all(path_, ec);
        if (!ec || !fs::exists(path_)) break;
    }
}

Bundle::Bundle(const std::vector<std::string>& args) : dir_("berth-bundle") {
    auto cp = run_command({"cp", "-a", busybox_rootfs_template(), rootfs()});
    if (cp.exit_code != 0) throw std::runtime_error("copy rootfs: " + cp.describe());
    auto spec = run_command({runtime_binary(), "spec", "--bundle", path()});
    if (spec.exit_code != 0) throw std::runtime_error("spec: " + spec.describe());
    std::ifstream in(path() + "/config.json");
    config_ = nlohmann::json::parse(in);
    config_["process"]["terminal"] = false;
    config_["process"]["args"] = args;
    write();
}

void Bundle::write() const {
    std::ofstream out(path() + "/config.json");
    out << config_.dump(2);
}

std::string unique_id(const std::string& prefix) {
    static std::atomic<int> counter{0};
    return "berth-test-" + prefix + "-" + std::to_string(::getpid()) + "-" +
           std::to_string(counter++);
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
        text.pop_back();
    return text;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) out.push_back(line);
    return out;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

Runtime::Runtime() : state_("berth-state") {}

std::vector<std::string> Runtime::command(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{runtime_binary(), "--root", state_.path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

CommandResult Runtime::operator()(const std::vector<std::string>& args,
                                  const CommandOptions& options) const {
    return run_command(command(args), options);
}

nlohmann::json Runtime::state(const std::string& id) const {
    auto r = (*this)({"state", id});
    if (r.exit_code != 0) return nullptr;
    return nlohmann::json::parse(r.out, nullptr, false);
}

ContainerGuard::~ContainerGuard() {
    runtime_({"delete", "--force", id_});
}

std::string run_output(Bundle& bundle, int expected_exit) {
    Runtime runtime;
    std::string id = unique_id("run");
    ContainerGuard guard(runtime, id);
    bundle.write();
    auto r = runtime({"run", "--bundle", bundle.path(), id});
    EXPECT_EQ(r.exit_code, expected_exit) << r.describe();
    return r.out;
}

std::vector<std::string> cgroup_dirs_named(const std::string& name) {
    std::vector<std::string> found;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(
             "/sys/fs/cgroup", fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        if (it.depth() > 6) {
            it.disable_recursion_pending();
            continue;
        }
        if (it->is_directory(ec) && it->path().filename().string().find(name) != std::string::npos)
            found.push_back(it->path().string());
    }
    return found;
}

std::vector<std::string> mounts_under(const std::string& path) {
    std::vector<std::string> found;
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string id, parent, devno, root, mountpoint;
        fields >> id >> parent >> devno >> root >> mountpoint;
        if (mountpoint == path || mountpoint.rfind(path + "/", 0) == 0) found.push_back(mountpoint);
    }
    // Deepest first, so unmounting in order works.
    std::sort(found.begin(), found.end(),
              [](const auto& a, const auto& b) { return a.size() > b.size(); });
    return found;
}

std::vector<std::string> container_dirs_in(const std::string& containers_dir) {
    std::vector<std::string> found;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(containers_dir, ec)) {
        if (entry.path().filename() != ".trash") {
            found.push_back(entry.path());
            continue;
        }
        for (const auto& trashed : fs::directory_iterator(entry.path(), ec))
            found.push_back(trashed.path());
    }
    return found;
}

bool remove_cgroup_tree(const std::string& relative) {
    // cgroup v2 alone is mounted at /sys/fs/cgroup; v1 and hybrid mount one hierarchy per
    // directory below it.
    std::vector<fs::path> hierarchies;
    std::error_code ec;
    if (fs::exists("/sys/fs/cgroup/cgroup.controllers", ec)) {
        hierarchies.emplace_back("/sys/fs/cgroup");
    } else {
        for (const auto& entry : fs::directory_iterator("/sys/fs/cgroup", ec))
            if (entry.is_directory(ec)) hierarchies.push_back(entry.path());
    }
    bool all_gone = true;
    for (const auto& hierarchy : hierarchies) {
        fs::path top = hierarchy.string() + relative;
        if (!fs::is_directory(top, ec)) continue;
        std::vector<fs::path> dirs;
        for (auto it = fs::recursive_directory_iterator(top, ec);
             it != fs::recursive_directory_iterator(); it.increment(ec)) {
            if (ec) break;
            if (it->is_directory(ec) && !it->is_symlink(ec)) dirs.push_back(it->path());
        }
        // Deepest first; a cgroup whose last process is still exiting is busy for a moment.
        std::sort(dirs.begin(), dirs.end(), [](const auto& a, const auto& b) {
            return a.string().size() > b.string().size();
        });
        dirs.push_back(top);
        for (const auto& dir : dirs) {
            bool removed = eventually([&] { return ::rmdir(dir.c_str()) == 0 || errno == ENOENT; },
                                      std::chrono::seconds(5));
            all_gone = all_gone && removed;
        }
    }
    return all_gone;
}

std::vector<pid_t> processes_mentioning(const std::string& text) {
    std::vector<pid_t> pids;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        pid_t pid = static_cast<pid_t>(std::stol(name));
        if (pid == ::getpid()) continue;
        std::ifstream in(entry.path() / "cmdline");
        std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (cmdline.find(text) == std::string::npos) continue;
        std::ifstream stat_in(entry.path() / "stat");
        std::string stat;
        std::getline(stat_in, stat);
        auto close = stat.rfind(')');
        if (close != std::string::npos && stat.compare(close + 2, 1, "Z") == 0) continue;
        pids.push_back(pid);
    }
    return pids;
}

void kill_processes_mentioning(const std::string& text) {
    std::vector<pid_t> pids;
    for (pid_t pid : processes_mentioning(text))
        if (::kill(pid, SIGKILL) == 0) pids.push_back(pid);
    // Gone, or a zombie (reparented to an init that may not reap it).
    auto gone = [](pid_t pid) {
        std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
        std::string stat;
        std::getline(in, stat);
        auto close = stat.rfind(')');
        return !in || close == std::string::npos || stat.compare(close + 2, 1, "Z") == 0;
    };
    for (pid_t pid : pids)
        eventually([&] { return gone(pid); });
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return pred();
}

}  // namespace berth::test
