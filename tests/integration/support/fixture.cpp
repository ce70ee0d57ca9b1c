#include "support/fixture.hpp"

#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;

namespace berth::test {

static std::string env_or_die(const char* name) {
    const char* v = std::getenv(name);
    if (!v || !*v) {
        std::fprintf(stderr, "integration tests need %s (run them through ctest)\n", name);
        std::abort();
    }
    return v;
}

std::string runtime_binary() {
    return env_or_die("BERTH_RUNTIME");
}
std::string source_dir() {
    return env_or_die("BERTH_SOURCE_DIR");
}
std::string busybox_rootfs_template() {
    return env_or_die("BERTH_TEST_ROOTFS");
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
    std::error_code ec;
    fs::remove_all(path_, ec);
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

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return pred();
}

}  // namespace berth::test
