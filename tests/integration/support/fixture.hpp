// What runtime integration tests share: a berth-runtime with its own state root, bundles
// made from the busybox rootfs, and cleanup that happens also when an assertion fails.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/command.hpp"

namespace berth::test {

// Paths from the environment (BERTH_RUNTIME, BERTH_SOURCE_DIR, BERTH_TEST_ROOTFS), by default
// the build's own (see tests/integration/CMakeLists.txt).
std::string runtime_binary();
std::string source_dir();
std::string busybox_rootfs_template();
// tar of the busybox template into tarball with these extra tar options (e.g. "--zstd").
// Other tests running alongside may touch a directory's ctime in the template while tar
// reads it; tar's "file changed as we read it" (status 1) is not a failure here, the
// callers compare the unpacked tree with the template anyway. Returns true on success.
bool tar_busybox_template(const std::string& tarball, const std::vector<std::string>& options = {});

// An image archive (`docker save` format, tagged localhost/busybox:latest) of the busybox
// rootfs, written into dir by scripts/make-busybox-image.sh; returns its path.
std::string make_busybox_image(const std::string& dir);

// mkdtemp under /tmp (or base), removed recursively (after unmounting leftovers) on destruction.
class TempDir {
  public:
    explicit TempDir(const std::string& prefix = "berth-it");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const std::string& path() const { return path_; }

  private:
    std::string path_;
};

// A bundle: a copy of the busybox rootfs and a config.json from `berth-runtime spec`,
// with terminal off. Edit config(), then write().
class Bundle {
  public:
    explicit Bundle(const std::vector<std::string>& args = {"true"});
    [[nodiscard]] const std::string& path() const { return dir_.path(); }
    [[nodiscard]] std::string rootfs() const { return dir_.path() + "/rootfs"; }
    nlohmann::json& config() { return config_; }
    void write() const;

  private:
    TempDir dir_;
    nlohmann::json config_;
};

std::string unique_id(const std::string& prefix);

// The environment variable `name` when it is set and not empty, else `fallback`.
std::string env_or(const char* name, const char* fallback);

// text with every `from` replaced by `to` (filling in config templates).
std::string replace_all(std::string text, const std::string& from, const std::string& to);

// text without trailing newlines, carriage returns and spaces.
std::string trimmed(std::string text);
// The non-empty lines of text.
std::vector<std::string> lines_of(const std::string& text);
// The whole file, or "" when it cannot be read.
std::string read_text(const std::string& path);

// Runs berth-runtime with --root pointing at a private state directory.
class Runtime {
  public:
    Runtime();
    [[nodiscard]] const std::string& state_root() const { return state_.path(); }
    CommandResult operator()(const std::vector<std::string>& args,
                             const CommandOptions& options = {}) const;
    [[nodiscard]] std::vector<std::string> command(const std::vector<std::string>& args) const;
    // `state ID` parsed; null json when it fails.
    [[nodiscard]] nlohmann::json state(const std::string& id) const;

  private:
    TempDir state_;
};

// Deletes the container (--force) when the test ends, however it ends.
class ContainerGuard {
  public:
    ContainerGuard(const Runtime& runtime, std::string id)
        : runtime_(runtime), id_(std::move(id)) {}
    ~ContainerGuard();
    ContainerGuard(const ContainerGuard&) = delete;
    ContainerGuard& operator=(const ContainerGuard&) = delete;

  private:
    const Runtime& runtime_;
    std::string id_;
};

// `berth-runtime run` of the bundle in a private state directory; its stdout. The test fails
// (without stopping) when the exit code is not `expected_exit`.
std::string run_output(Bundle& bundle, int expected_exit = 0);

// Leak checks: nothing under /sys/fs/cgroup named `name`, no mount under `path`.
std::vector<std::string> cgroup_dirs_named(const std::string& name);
std::vector<std::string> mounts_under(const std::string& path);
// What is in a berth root's containers/ directory, the trash's entries (a --rm container's
// directory, deleted by its monitor once it reported the exit) included; the trash itself
// is not listed.
std::vector<std::string> container_dirs_in(const std::string& containers_dir);

// Cleanup of what clients leave when a test fails: removes the cgroup at `relative` (e.g.
// "/berth-test-ns") and every cgroup below it, in every hierarchy; true when none is left.
bool remove_cgroup_tree(const std::string& relative);
// SIGKILLs every process whose command line mentions text (a test's temp dir: shims, conmon)
// and waits for them to go.
void kill_processes_mentioning(const std::string& text);
// The live (not zombie) processes whose command line mentions text, ours excepted.
std::vector<pid_t> processes_mentioning(const std::string& text);

// Polls until pred() or the timeout.
bool eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace berth::test
