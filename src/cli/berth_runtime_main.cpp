// berth-runtime: the OCI runtime, runc-compatible on the command line. Parses arguments
// and prints; the verbs live in src/runtime.
#include <unistd.h>

#include <seccomp.h>
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <set>
#include <string_view>

#include "cli/requested_verb.hpp"
#include "cli/text_table.hpp"
#include "common/error.hpp"
#include "common/file.hpp"
#include "common/json_reader.hpp"
#include "common/log.hpp"
#include "common/path.hpp"
#include "oci/runtime_state.hpp"
#include "runtime/exe_protection.hpp"
#include "runtime/exec_process.hpp"
#include "runtime/launcher.hpp"
#include "runtime/signals.hpp"
#include "runtime/validate.hpp"
#include "runtime/verbs/verbs.hpp"

using namespace berth;
using namespace berth::runtime;

namespace {

std::string default_state_root() {
    if (::geteuid() == 0) return "/run/berth-runtime";
    const char* xdg = std::getenv("XDG_RUNTIME_DIR");
    if (xdg && *xdg) return std::string(xdg) + "/berth-runtime";
    return "/tmp/berth-runtime-" + std::to_string(::geteuid());
}

std::string absolute(const std::string& path) {
    if (is_absolute_path(path)) return clean_path(path);
    char cwd[4096];
    if (!::getcwd(cwd, sizeof cwd)) throw_errno("getcwd");
    return join_path(cwd, path);
}

void print_line(const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
}

std::string version_text() {
    const scmp_version* v = seccomp_version();
    return std::string("berth-runtime version ") + BERTH_VERSION + "\nspec: " + oci::kSpecVersion +
           "\nlibseccomp: " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
           std::to_string(v->micro);
}

// `list` as runc prints it: columns padded to the widest cell, three spaces apart.
std::string list_table(const std::vector<nlohmann::ordered_json>& rows) {
    std::vector<std::vector<std::string>> cells{
        {"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
    for (const auto& r : rows)
        cells.push_back({r["id"].get<std::string>(), std::to_string(r["pid"].get<int>()),
                         r["status"].get<std::string>(), r["bundle"].get<std::string>(),
                         r["created"].get<std::string>(), r["owner"].get<std::string>()});
    return cli::aligned_columns(cells);
}

}  // namespace

int main(int argc, char** argv) {
    log::set_program_name("berth-runtime");
    remember_command_line(argc, argv);
    CLI::App app{"berth-runtime: an OCI container runtime (runc-compatible command line)",
                 "berth-runtime"};
    app.require_subcommand(1);
    app.set_version_flag("-v,--version", version_text());

    std::string state_root = default_state_root();
    std::string log_path, log_format = "text", rootless_flag = "auto";
    bool debug = false, systemd_cgroup = false;
    app.add_option("--root", state_root, "directory for container state (tmpfs)");
    app.add_option("--log", log_path, "log file (default: stderr)");
    app.add_option("--log-format", log_format, "log format: text or json")
        ->check(CLI::IsMember({"text", "json"}));
    app.add_flag("--debug", debug, "debug logging");
    app.add_flag("--systemd-cgroup", systemd_cgroup,
                 "cgroupsPath is slice:prefix:name (systemd form)");
    app.add_option("--rootless", rootless_flag, "ignored: rootless mode follows the effective uid");
    std::string criu;
    app.add_option("--criu", criu, "accepted for compatibility; checkpointing is not supported")
        ->group("");

    static const std::set<std::string_view> verbs = {
        "create", "run",  "start", "state",  "kill",   "delete",   "list", "ls",
        "ps",     "exec", "pause", "resume", "update", "features", "spec", "events"};
    // Only the verb being run gets its options registered (cli/requested_verb.hpp).
    const std::string verb = cli::requested_verb(
        argc, argv, {"--root", "--log", "--log-format", "--rootless", "--criu"});
    const bool every_verb = !verbs.count(verb);  // no verb or a wrong one: full help and errors
    auto wants = [&](std::string_view name) { return every_verb || verb == name; };

    CreateOptions create;
    auto add_create_flags = [&](CLI::App* cmd) {
        cmd->add_option("-b,--bundle", create.bundle,
                        "bundle directory (default: current directory)");
        cmd->add_option("--console-socket", create.console_socket,
                        "unix socket to send the pty master to");
        cmd->add_option("--pid-file", create.pid_file, "file to write the init pid to");
        cmd->add_option("--preserve-fds", create.preserve_fds,
                        "pass N extra fds (3..3+N-1) to the container");
        cmd->add_flag("--no-pivot", create.no_pivot, "use MS_MOVE + chroot instead of pivot_root");
        cmd->add_flag("--no-new-keyring", create.no_new_keyring,
                      "keep the caller's session keyring");
        cmd->add_option("id", create.id, "container id")->required();
    };
    CLI::App* create_cmd =
        app.add_subcommand("create", "create a container (its process waits for start)");
    if (wants("create")) add_create_flags(create_cmd);
    CLI::App* run_cmd = app.add_subcommand("run", "create and start a container");
    bool detach = false, keep = false;
    if (wants("run")) {
        add_create_flags(run_cmd);
        run_cmd->add_flag("-d,--detach", detach, "return once the process runs");
        run_cmd->add_flag("--keep", keep, "accepted for compatibility");
    }

    std::string id;
    CLI::App* start_cmd = app.add_subcommand("start", "start a created container");
    start_cmd->add_option("id", id)->required();
    CLI::App* state_cmd = app.add_subcommand("state", "print a container's state as JSON");
    state_cmd->add_option("id", id)->required();

    CLI::App* kill_cmd =
        app.add_subcommand("kill", "send a signal to a container's init (default SIGTERM)");
    bool kill_all = false;
    std::string signal_name = "SIGTERM";
    if (wants("kill")) {
        kill_cmd->add_flag("-a,--all", kill_all, "signal every process in the container");
        kill_cmd->add_option("id", id)->required();
        kill_cmd->add_option("signal", signal_name);
    }

    CLI::App* delete_cmd = app.add_subcommand("delete", "delete a container and what it holds");
    bool force = false;
    delete_cmd->add_flag("-f,--force", force, "kill a running container first");
    delete_cmd->add_option("id", id)->required();

    CLI::App* list_cmd = app.add_subcommand("list", "list containers")->alias("ls");
    std::string format = "table";
    bool quiet = false;
    if (wants("list") || wants("ls")) {
        list_cmd->add_option("-f,--format", format)->check(CLI::IsMember({"table", "json"}));
        list_cmd->add_flag("-q,--quiet", quiet, "ids only");
    }

    CLI::App* ps_cmd = app.add_subcommand("ps", "processes of a container");
    std::string ps_format = "table";
    if (wants("ps"))
        ps_cmd->add_option("-f,--format", ps_format)->check(CLI::IsMember({"table", "json"}));
    ps_cmd->prefix_command();

    ExecOptions exec;
    CLI::App* exec_cmd = app.add_subcommand("exec", "run a process in a container");
    if (wants("exec")) {
        exec_cmd->add_option("--console-socket", exec.console_socket);
        exec_cmd->add_option("--cwd", exec.cwd);
        exec_cmd->add_option("-e,--env", exec.env)->allow_extra_args(false);
        exec_cmd->add_flag("-t,--tty", exec.tty);
        exec_cmd->add_option("-u,--user", exec.user, "uid[:gid]");
        exec_cmd->add_option("-g,--additional-gids", exec.additional_gids)->allow_extra_args(false);
        exec_cmd->add_option("-p,--process", exec.process_file, "process JSON file");
        exec_cmd->add_flag("-d,--detach", exec.detach);
        exec_cmd->add_option("--pid-file", exec.pid_file);
        exec_cmd->add_option("--process-label", exec.process_label);
        exec_cmd->add_option("--apparmor", exec.apparmor_profile);
        exec_cmd->add_flag("--no-new-privs", exec.no_new_privileges);
        exec_cmd->add_option("-c,--cap", exec.add_capabilities)->allow_extra_args(false);
        exec_cmd->add_option("--preserve-fds", exec.preserve_fds);
    }
    exec_cmd->prefix_command();

    CLI::App* pause_cmd = app.add_subcommand("pause", "freeze every process of a container");
    pause_cmd->add_option("id", id)->required();
    CLI::App* resume_cmd = app.add_subcommand("resume", "thaw a paused container");
    resume_cmd->add_option("id", id)->required();

    CLI::App* update_cmd = app.add_subcommand("update", "change a container's resource limits");
    UpdateFlags update;
    std::string resources_file;
    if (wants("update")) {
        update_cmd->add_option("-r,--resources", resources_file,
                               "LinuxResources JSON file (- for stdin)");
        update_cmd->add_option("--memory", update.memory);
        update_cmd->add_option("--memory-swap", update.memory_swap);
        update_cmd->add_option("--memory-reservation", update.memory_reservation);
        update_cmd->add_option("--kernel-memory", update.kernel_memory);
        update_cmd->add_option("--kernel-memory-tcp", update.kernel_memory_tcp);
        update_cmd->add_option("--cpu-share", update.cpu_shares);
        update_cmd->add_option("--cpu-period", update.cpu_period);
        update_cmd->add_option("--cpu-quota", update.cpu_quota);
        update_cmd->add_option("--cpu-rt-period", update.cpu_rt_period);
        update_cmd->add_option("--cpu-rt-runtime", update.cpu_rt_runtime);
        update_cmd->add_option("--cpuset-cpus", update.cpuset_cpus);
        update_cmd->add_option("--cpuset-mems", update.cpuset_mems);
        update_cmd->add_option("--pids-limit", update.pids_limit);
        update_cmd->add_option("--blkio-weight", update.blkio_weight);
        update_cmd->add_option("id", id)->required();
    }

    app.add_subcommand("features", "print the OCI features document");

    CLI::App* spec_cmd = app.add_subcommand("spec", "write a default config.json");
    std::string spec_bundle = ".";
    bool spec_rootless = false;
    spec_cmd->add_option("-b,--bundle", spec_bundle);
    spec_cmd->add_flag("--rootless", spec_rootless, "for running as an unprivileged user");

    CLI::App* events_cmd = app.add_subcommand("events", "container statistics");
    bool stats = false;
    std::string interval = "5s";
    if (wants("events")) {
        events_cmd->add_flag("--stats", stats, "print statistics once and exit");
        events_cmd->add_option("--interval", interval);
        events_cmd->add_option("id", id)->required();
    }

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e);
        return code == 0 ? 0 : 1;
    }
    log::configure(log_path, log_format == "json" ? log::Format::json : log::Format::text, debug);
    StateRoot root(state_root);

    try {
        if (create_cmd->parsed() || run_cmd->parsed()) {
            create.bundle = absolute(create.bundle.empty() ? "." : create.bundle);
            create.systemd_cgroup = systemd_cgroup;
            if (create_cmd->parsed()) {
                create_container(root, create);
                return 0;
            }
            return run_container(root, create, detach);
        }
        if (start_cmd->parsed()) {
            start_container(root, id);
        } else if (state_cmd->parsed()) {
            print_line(state_document(root, id).dump(2));
        } else if (kill_cmd->parsed()) {
            kill_container(root, id, parse_signal(signal_name), kill_all);
        } else if (delete_cmd->parsed()) {
            delete_container(root, id, force);
        } else if (list_cmd->parsed()) {
            auto rows = list_containers(root);
            if (quiet) {
                for (const auto& r : rows)
                    print_line(r["id"].get<std::string>());
            } else if (format == "json") {
                print_line(nlohmann::ordered_json(rows).dump());
            } else {
                std::fputs(list_table(rows).c_str(), stdout);
            }
        } else if (ps_cmd->parsed()) {
            auto rest = ps_cmd->remaining();
            if (rest.empty()) throw Error("ps: a container id is required");
            std::string ps_id = rest.front();
            rest.erase(rest.begin());
            if (!rest.empty() && rest.front() == "--") rest.erase(rest.begin());
            if (ps_format == "json") {
                print_line(nlohmann::json(container_pids(root, ps_id)).dump());
            } else {
                std::fputs(container_ps_table(root, ps_id, rest).c_str(), stdout);
            }
        } else if (exec_cmd->parsed()) {
            auto rest = exec_cmd->remaining();
            if (rest.empty()) throw Error("exec: a container id is required");
            exec.id = rest.front();
            rest.erase(rest.begin());
            if (!rest.empty() && rest.front() == "--") rest.erase(rest.begin());
            exec.args = rest;
            return exec_in_container(root, exec);
        } else if (pause_cmd->parsed()) {
            pause_container(root, id);
        } else if (resume_cmd->parsed()) {
            resume_container(root, id);
        } else if (update_cmd->parsed()) {
            oci::Resources resources;
            if (!resources_file.empty()) {
                std::string text =
                    resources_file == "-"
                        ? read_fd_limited(STDIN_FILENO, "stdin", runtime::kMaxConfigSize)
                        : read_file_limited(resources_file, runtime::kMaxConfigSize);
                resources = oci::parse_resources(parse_json(text, resources_file), resources_file);
            } else {
                resources = resources_from_flags(update);
            }
            update_container(root, id, resources);
        } else if (app.got_subcommand("features")) {
            print_line(features_document().dump(2));
        } else if (spec_cmd->parsed()) {
            write_default_spec(spec_bundle, spec_rootless);
        } else if (events_cmd->parsed()) {
            if (stats) {
                print_line(stats_event(root, id).dump());
            } else {
                auto seconds = parse_size(
                    interval.substr(0, interval.find_first_not_of("0123456789")), "--interval");
                for (;;) {
                    print_line(stats_event(root, id).dump());
                    std::fflush(stdout);
                    ::sleep(static_cast<unsigned>(std::max<int64_t>(1, seconds)));
                }
            }
        }
    } catch (const std::exception& e) {
        log::error(e.what());
        return 1;
    }
    return 0;
}
