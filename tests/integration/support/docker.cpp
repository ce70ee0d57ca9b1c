#include "support/docker.hpp"

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace fs = std::filesystem;

namespace berth::test {
namespace {

// Debian's client: /usr/local/bin/docker may be a newer client that wants buildx for BuildKit.
constexpr const char* kDockerClient = "/usr/bin/docker";

// Removes the cgroup directories dockerd made below `parent` in every hierarchy (empty ones
// only: a container still in one would make rmdir fail, and then it is reported elsewhere).
void remove_cgroup_dirs(const std::string& parent) {
    std::error_code ec;
    for (const auto& hierarchy : fs::directory_iterator("/sys/fs/cgroup", ec)) {
        fs::path top = hierarchy.path() / parent;
        if (!fs::is_directory(top, ec)) continue;
        std::vector<fs::path> dirs;
        for (auto it = fs::recursive_directory_iterator(top, ec);
             it != fs::recursive_directory_iterator(); it.increment(ec))
            if (it->is_directory(ec)) dirs.push_back(it->path());
        for (auto d = dirs.rbegin(); d != dirs.rend(); ++d)
            ::rmdir(d->c_str());
        ::rmdir(top.c_str());
    }
}

std::string cgroup_parent_name(const std::string& dir) {
    return "berth-test-docker-" + fs::path(dir).filename().string();
}

}  // namespace

std::string dockerd_binary() {
    for (const char* path : {"/usr/sbin/dockerd", "/usr/bin/dockerd"})
        if (::access(path, X_OK) == 0) return path;
    return {};
}

DockerDaemon::DockerDaemon() : dir_("berth-docker") {
    std::string dockerd = dockerd_binary();
    if (dockerd.empty() || ::access(kDockerClient, X_OK) != 0)
        throw std::runtime_error(
            "Debian's docker.io (dockerd and /usr/bin/docker) is not installed "
            "(scripts/install-deps.sh)");
    fs::create_directories(dir() + "/config");
    // An empty daemon.json: nothing from /etc/docker applies.
    std::ofstream(dir() + "/daemon.json") << "{}\n";
    CommandOptions options;
    options.output_path = dir() + "/dockerd.log";
    process_ = std::make_unique<BackgroundCommand>(
        std::vector<std::string>{
            dockerd, "--config-file=" + dir() + "/daemon.json", "--data-root=" + dir() + "/data",
            "--exec-root=" + dir() + "/exec", "--pidfile=" + dir() + "/dockerd.pid",
            "--host=unix://" + dir() + "/docker.sock", "--bridge=none", "--iptables=false",
            "--ip6tables=false", "--ip-masq=false", "--userland-proxy=false",
            "--cgroup-parent=" + cgroup_parent_name(dir()), "--log-level=warn"},
        options);
    for (int i = 0; i < 300; ++i) {
        if (process_->wait(std::chrono::milliseconds(20)) >= 0) {
            exited_ = true;  // reaped: its pid is no longer ours to signal
            break;
        }
        CommandOptions quick;
        quick.timeout = std::chrono::milliseconds(5000);
        if (fs::exists(dir() + "/docker.sock") && (*this)({"version"}, quick).exit_code == 0)
            return;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::string text = log();
    stop();
    throw std::runtime_error("dockerd did not start:\n" + text);
}

DockerDaemon::~DockerDaemon() {
    stop();
}

void DockerDaemon::stop() {
    if (!process_) return;
    if (!exited_) {
        process_->signal(SIGTERM);
        if (process_->wait(std::chrono::seconds(30)) < 0) {
            process_->signal(SIGKILL);
            process_->wait(std::chrono::seconds(5));
        }
    }
    process_.reset();
    // The containerd dockerd started stops with it; if dockerd was killed, it is ours to stop.
    std::ifstream pidfile(dir() + "/exec/containerd/containerd.pid");
    pid_t pid = 0;
    // Only that containerd: its command line names our exec root (a pid may have been reused).
    if (pidfile >> pid && pid > 1 &&
        read_text("/proc/" + std::to_string(pid) + "/cmdline").find(dir()) != std::string::npos) {
        ::kill(pid, SIGTERM);
        for (int i = 0; i < 100 && ::kill(pid, 0) == 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (::kill(pid, 0) == 0) ::kill(pid, SIGKILL);
    }
    remove_cgroup_dirs(cgroup_parent_name(dir()));
}

CommandResult DockerDaemon::operator()(const std::vector<std::string>& args,
                                       const CommandOptions& options) const {
    std::vector<std::string> argv = {kDockerClient};
    argv.insert(argv.end(), args.begin(), args.end());
    CommandOptions o = options;
    o.env.push_back("DOCKER_HOST=unix://" + dir() + "/docker.sock");
    o.env.emplace_back("DOCKER_BUILDKIT=1");
    o.env.push_back("DOCKER_CONFIG=" + dir() + "/config");
    return run_command(argv, o);
}

std::string DockerDaemon::log() const {
    return read_text(dir() + "/dockerd.log");
}

}  // namespace berth::test
