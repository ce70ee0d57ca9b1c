#include "support/containerd.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace berth::test {
namespace {

constexpr const char* kImage = "localhost/busybox:latest";

std::vector<std::string> words(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> out;
    std::string word;
    while (in >> word)
        out.push_back(word);
    return out;
}

// Only what `ctr run` needs: no CRI, no snapshotters but overlayfs and native, no tracing.
std::string config_toml(const std::string& dir) {
    std::string text = R"(version = 2
root = "@DIR@/root"
state = "@DIR@/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]
[grpc]
  address = "@DIR@/containerd.sock"
[ttrpc]
  address = "@DIR@/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "@DIR@/opt"
)";
    return replace_all(text, "@DIR@", dir);
}

}  // namespace

Containerd::Containerd(std::string runtime)
    : runtime_(fs::absolute(runtime).string()), dir_("berth-ctd"), namespace_(unique_id("ctd")) {
    struct stat st {};
    // The shims put their sockets in /run/containerd/s whatever the config says.
    made_run_containerd_ = ::stat("/run/containerd", &st) != 0;
    fs::create_directories(dir() + "/tmp");
    fs::create_directories(dir() + "/fifo");
    {
        std::ofstream out(dir() + "/config.toml");
        out << config_toml(dir());
    }
    CommandOptions options;
    options.env = {"TMPDIR=" + dir() + "/tmp"};  // the shim's process files and pty sockets
    options.output_path = dir() + "/containerd.log";
    daemon_ = std::make_unique<BackgroundCommand>(
        std::vector<std::string>{"containerd", "--config", dir() + "/config.toml"}, options);
    bool up = eventually([&] { return ctr({"version"}).exit_code == 0; }, std::chrono::seconds(20));
    if (!up) {
        std::string log = read_text(dir() + "/containerd.log");
        remove_everything();
        throw std::runtime_error("containerd did not come up:\n" + log);
    }
    auto import = ctr({"image", "import", make_busybox_image(dir())});
    if (import.exit_code != 0) {
        remove_everything();
        throw std::runtime_error("ctr image import: " + import.describe());
    }
}

Containerd::~Containerd() {
    remove_everything();
}

std::string Containerd::runtime_state_root() const {
    return dir() + "/runtime-root/" + namespace_;
}

std::vector<std::string> Containerd::runtime_command(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{runtime_, "--root", runtime_state_root()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

std::vector<std::string> Containerd::ctr_command(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{"ctr", "--address", dir() + "/containerd.sock", "--namespace",
                                  namespace_};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

CommandResult Containerd::ctr(const std::vector<std::string>& args,
                              const CommandOptions& options) const {
    return run_command(ctr_command(args), options);
}

std::vector<std::string> Containerd::run_command_line(const std::vector<std::string>& flags,
                                                      const std::string& id,
                                                      const std::vector<std::string>& args) const {
    std::vector<std::string> run{"run",          "--runc-binary",         runtime_,
                                 "--runc-root",  dir() + "/runtime-root", "--fifo-dir",
                                 dir() + "/fifo"};
    run.insert(run.end(), flags.begin(), flags.end());
    run.push_back(kImage);
    run.push_back(id);
    run.insert(run.end(), args.begin(), args.end());
    return ctr_command(run);
}

std::vector<std::string> Containerd::exec_command_line(const std::vector<std::string>& flags,
                                                       const std::string& id,
                                                       const std::string& exec_id,
                                                       const std::vector<std::string>& args) const {
    std::vector<std::string> exec{"task", "exec", "--fifo-dir", dir() + "/fifo"};
    exec.insert(exec.end(), flags.begin(), flags.end());
    exec.insert(exec.end(), {"--exec-id", exec_id, id});
    exec.insert(exec.end(), args.begin(), args.end());
    return ctr_command(exec);
}

std::map<std::string, Containerd::Task> Containerd::tasks() const {
    std::map<std::string, Task> out;
    auto r = ctr({"task", "ls"});
    if (r.exit_code != 0) return out;
    std::istringstream lines(r.out);
    std::string line;
    std::getline(lines, line);  // TASK PID STATUS
    while (std::getline(lines, line)) {
        auto w = words(line);
        if (w.size() == 3) out[w[0]] = Task{std::stoi(w[1]), w[2]};
    }
    return out;
}

void Containerd::remove_everything() {
    if (daemon_) {
        CommandOptions quick;
        quick.timeout = std::chrono::seconds(20);
        for (const auto& id : words(ctr({"task", "ls", "--quiet"}, quick).out)) {
            ctr({"task", "kill", "--all", "--signal", "SIGKILL", id}, quick);
            eventually([&] { return tasks()[id].status != "RUNNING"; }, std::chrono::seconds(5));
            ctr({"task", "delete", "--force", id}, quick);
        }
        for (const auto& id : words(ctr({"container", "ls", "--quiet"}, quick).out))
            ctr({"container", "rm", id}, quick);
        daemon_->signal(SIGTERM);
        daemon_->wait(std::chrono::seconds(10));
        daemon_.reset();
    }
    // Whatever is left of the shims and the runtime's containers (a failed test).
    kill_processes_mentioning(dir());
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(runtime_state_root(), ec)) {
        std::string id = entry.path().filename().string();
        if (id[0] != '.') run_command(runtime_command({"delete", "--force", id}));
    }
    remove_cgroup_tree("/" + namespace_);
    if (made_run_containerd_) {
        ::rmdir("/run/containerd/s");
        ::rmdir("/run/containerd");
    }
}

}  // namespace berth::test
