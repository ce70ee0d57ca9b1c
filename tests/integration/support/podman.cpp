#include "support/podman.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace berth::test {
namespace {

void write_text(const std::string& path, const std::string& text, fs::perms perms) {
    {
        std::ofstream out(path);
        out << text;
    }
    fs::permissions(path, perms);
}

// podman asks for RLIMIT_NOFILE and RLIMIT_NPROC of 1048576 for root's containers. Raising a
// hard limit needs CAP_SYS_RESOURCE, which root may lack (in a container, say): runc fails
// there too. Ask for what this process has, and an nproc limit podman itself stays above.
std::string default_ulimits() {
    rlimit nofile{};
    ::getrlimit(RLIMIT_NOFILE, &nofile);
    return "[\"nofile=" + std::to_string(nofile.rlim_cur) + ":" + std::to_string(nofile.rlim_max) +
           "\", \"nproc=4096:4096\"]";
}

}  // namespace

Podman::Podman(std::string runtime)
    : runtime_(fs::absolute(runtime).string()),
      dir_("berth-podman"),
      cgroup_parent_("/" + unique_id("podman")) {
    for (const char* sub : {"bin", "tmp", "libpod-tmp", "storage", "run", "networks"})
        fs::create_directories(dir() + "/" + sub);
    // podman passes no --root to the runtime, and the cleanup process conmon runs when the
    // container exits drops --runtime-flag: a wrapper keeps the runtime's state in our dir.
    // It has the runtime's name, which podman uses to decide that it logs JSON.
    std::string name = fs::path(runtime_).filename().string();
    write_text(dir() + "/bin/" + name,
               "#!/bin/sh\nexec " + shell_quote(runtime_) + " --root " +
                   shell_quote(runtime_state_root()) + " \"$@\"\n",
               fs::perms::owner_all);
    std::string containers_conf = R"([containers]
netns = "none"
default_ulimits = @ULIMITS@
[network]
network_backend = "cni"
network_config_dir = "@DIR@/networks"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
lock_type = "file"
tmp_dir = "@DIR@/libpod-tmp"
static_dir = "@DIR@/storage/libpod"
volume_path = "@DIR@/storage/volumes"
runtime_supports_json = ["@NAME@"]
)";
    containers_conf = replace_all(containers_conf, "@ULIMITS@", default_ulimits());
    containers_conf = replace_all(containers_conf, "@NAME@", name);
    write_text(dir() + "/containers.conf", replace_all(containers_conf, "@DIR@", dir()),
               fs::perms::owner_read | fs::perms::owner_write);
    std::string storage_conf = R"([storage]
driver = "overlay"
graphroot = "@DIR@/storage"
runroot = "@DIR@/run"
)";
    write_text(dir() + "/storage.conf", replace_all(storage_conf, "@DIR@", dir()),
               fs::perms::owner_read | fs::perms::owner_write);
    write_text(dir() + "/registries.conf", "unqualified-search-registries = []\n",
               fs::perms::owner_read | fs::perms::owner_write);
    // Nothing read from /etc/containers, nothing written to /var/tmp.
    env_ = {"CONTAINERS_CONF=" + dir() + "/containers.conf",
            "CONTAINERS_STORAGE_CONF=" + dir() + "/storage.conf",
            "CONTAINERS_REGISTRIES_CONF=" + dir() + "/registries.conf", "TMPDIR=" + dir() + "/tmp"};

    // containers/image keeps root's blob-info cache in /var/lib/containers/cache whatever the
    // storage root, and unpacks archives it tries as OCI in /var/tmp whatever TMPDIR says:
    // load with private tmpfs mounts there so the host's stay untouched.
    std::string load_line =
        "mount -t tmpfs -o size=16m berth-test /var/lib && "
        "mount -t tmpfs -o size=64m berth-test /var/tmp && exec";
    for (const auto& word : command({"load", "--input", make_busybox_image(dir())}))
        load_line += " " + shell_quote(word);
    CommandOptions options;
    options.env = env_;
    auto load = run_command(
        {"unshare", "--mount", "--propagation", "private", "sh", "-c", load_line}, options);
    if (load.exit_code != 0) {
        remove_everything();
        throw std::runtime_error("podman load: " + load.describe());
    }
}

Podman::~Podman() {
    remove_everything();
}

std::vector<std::string> Podman::runtime_command(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{runtime_, "--root", runtime_state_root()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

std::vector<std::string> Podman::command(const std::vector<std::string>& args) const {
    std::string wrapper = dir() + "/bin/" + fs::path(runtime_).filename().string();
    std::vector<std::string> argv{"podman", "--root", dir() + "/storage", "--runroot",
                                  dir() + "/run", "--storage-driver", "overlay",
                                  // Otherwise the driver bind-mounts its home onto itself, and
                                  // a podman that exits with a layer in use (a failed create)
                                  // leaves that mount behind.
                                  "--storage-opt", "overlay.skip_mount_home=true",
                                  "--cgroup-manager", "cgroupfs", "--events-backend", "file",
                                  "--tmpdir", dir() + "/libpod-tmp", "--runtime", wrapper};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

CommandResult Podman::operator()(const std::vector<std::string>& args,
                                 const CommandOptions& options) const {
    CommandOptions with_env = options;
    with_env.env.insert(with_env.env.end(), env_.begin(), env_.end());
    return run_command(command(args), with_env);
}

CommandResult Podman::with_terminal(const std::vector<std::string>& args) const {
    CommandOptions options;
    options.env = env_;
    return run_with_terminal(command(args), options);
}

std::vector<std::string> Podman::run_flags() const {
    return {"--network", "none", "--cgroup-parent", cgroup_parent_};
}

void Podman::remove_everything() {
    CommandOptions quick;
    quick.timeout = std::chrono::seconds(60);
    (*this)({"rm", "--all", "--force", "--time", "0"}, quick);
    // Whatever is left of conmon and the runtime's containers (a failed test).
    kill_processes_mentioning(dir());
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(runtime_state_root(), ec)) {
        std::string id = entry.path().filename().string();
        if (id[0] != '.') run_command(runtime_command({"delete", "--force", id}));
    }
    remove_cgroup_tree(cgroup_parent_);
    // The storage's overlay mounts go with the temp dir (TempDir unmounts before removing).
}

}  // namespace berth::test
