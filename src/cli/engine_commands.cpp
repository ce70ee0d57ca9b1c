// Argument parsing and printing for the engine's verbs; the work is in src/engine.
#include "cli/engine_commands.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include "cli/image_views.hpp"
#include "cli/progress_printer.hpp"
#include "cli/text_table.hpp"
#include "cli/trust_commands.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "common/time.hpp"
#include "distribution/client/credentials.hpp"
#include "distribution/client/pull.hpp"
#include "distribution/client/registry.hpp"
#include "engine/container/names.hpp"
#include "engine/container/specs.hpp"
#include "engine/engine.hpp"
#include "engine/monitor/attach_client.hpp"
#include "engine/rootless/namespace.hpp"
#include "image/platform.hpp"
#include "trust/policy_pull.hpp"

namespace berth::cli {
namespace {

using engine::ContainerRecord;
using engine::Engine;
using engine::Status;

void print_line(const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    if (text.empty() || text.back() != '\n') std::fputc('\n', stdout);
}

std::string short_id(const std::string& id) {
    return id.substr(0, 12);
}

std::string command_text(const ContainerRecord& r) {
    std::string text;
    for (const auto& a : r.config.value("args", nlohmann::json::array())) {
        if (!text.empty()) text += " ";
        text += a.get<std::string>();
    }
    if (text.size() > 20) text = text.substr(0, 17) + "...";
    return "\"" + text + "\"";
}

std::string ports_text(const ContainerRecord& r) {
    std::string text;
    const nlohmann::json attachments = r.config.value("attachments", nlohmann::json::object());
    for (const auto& [_, a] : attachments.items())
        for (const auto& p : a.value("ports", nlohmann::json::array())) {
            if (!text.empty()) text += ", ";
            std::string ip = p.value("host_ip", "");
            text += (ip.empty() ? "0.0.0.0" : ip) + ":" + std::to_string(p.value("host_port", 0)) +
                    "->" + std::to_string(p.value("container_port", 0)) + "/" +
                    p.value("protocol", "tcp");
        }
    return text;
}

bool matches_filters(const engine::ContainerView& v, const std::vector<std::string>& filters) {
    for (const auto& f : filters) {
        size_t eq = f.find('=');
        std::string key = f.substr(0, eq);
        std::string value = eq == std::string::npos ? "" : f.substr(eq + 1);
        const ContainerRecord& r = v.record;
        if (key == "status" && to_string(r.state.status) != value) return false;
        if (key == "name" && r.name.find(value) == std::string::npos) return false;
        if (key == "id" && !r.id.starts_with(value)) return false;
        if (key == "ancestor" && r.image != value && !r.image_id.starts_with(value)) return false;
        if (key == "exited" &&
            (r.state.status != Status::exited || std::to_string(r.state.exit_code) != value))
            return false;
        if (key == "label") {
            size_t leq = value.find('=');
            auto labels = r.config.value("labels", nlohmann::json::object());
            std::string lkey = value.substr(0, leq);
            if (!labels.contains(lkey)) return false;
            if (leq != std::string::npos && labels[lkey] != value.substr(leq + 1)) return false;
        }
        if (key == "health" && r.state.health != value) return false;
    }
    return true;
}

// Everything a verb needs, made once it runs (not for --help).
struct Session {
    Session(const std::string& root, const std::string& config, const std::string& authfile,
            const std::string& signature_policy)
        : settings(image::load_settings(config)), images(root), engine(root, images, settings) {
        // The registry client only when a pull is needed: libcurl's set-up is not free.
        engine.pull_image = [this, authfile, signature_policy](const std::string& name,
                                                               const std::string& platform_text) {
            trust::PolicyEnforcer enforcer =
                trust::PolicyEnforcer::load(settings, {signature_policy, {}});
            distribution::CredentialStore credentials(authfile.empty() ? settings.auth_file
                                                                       : authfile);
            distribution::HttpClient http;
            image::Reference ref = settings.resolve(name);
            if (ref.tag.empty() && !ref.digest) ref.tag = "latest";
            auto registry = distribution::open_registry(http, ref.registry, settings, credentials);
            ProgressPrinter printer(stderr, progress_mode(stderr, false));
            distribution::PullOptions options;
            options.platform = platform_text.empty() ? image::host_platform()
                                                     : image::parse_platform_spec(platform_text);
            options.max_concurrent = settings.max_concurrent_downloads;
            options.observer = &printer;
            trust::pull_with_policy(images, *registry, ref, options, enforcer);
            printer.finish();
        };
    }
    image::Settings settings;
    image::Images images;
    Engine engine;
};

struct RunFlags {
    engine::CreateOptions create;
    bool detach = false;
    std::string image;
    CLI::App* command = nullptr;  // its remaining() arguments are the container's command
    std::string entrypoint;
    bool entrypoint_given = false;
};

void add_create_flags(CLI::App* cmd, RunFlags& f) {
    auto& o = f.create;
    cmd->set_help_flag("--help", "print this help");  // -h is --hostname, as docker's
    cmd->add_option("--name", o.name, "container name");
    cmd->add_flag("--rm", o.autoremove, "remove the container when it exits");
    cmd->add_flag("-i,--interactive", o.interactive, "keep stdin open");
    cmd->add_flag("-t,--tty", o.tty, "allocate a terminal");
    cmd->add_option("-e,--env", o.env, "KEY=VALUE")->allow_extra_args(false);
    cmd->add_option("--env-file", o.env_files, "file of KEY=VALUE lines")->allow_extra_args(false);
    cmd->add_option("-v,--volume", o.volumes, "SRC:DST[:ro] (bind or named volume)")
        ->allow_extra_args(false);
    cmd->add_option("--mount", o.mounts, "type=bind|volume|tmpfs,source=..,target=..")
        ->allow_extra_args(false);
    cmd->add_option("--tmpfs", o.tmpfs, "DST[:OPTIONS]")->allow_extra_args(false);
    cmd->add_option("-p,--publish", o.publish, "[IP:][HOST:]CONTAINER[/PROTO]")
        ->allow_extra_args(false);
    cmd->add_flag("-P,--publish-all", o.publish_all, "publish every exposed port");
    cmd->add_option("--network,--net", o.network,
                    "none, host, bridge (root's default), slirp4netns (rootless default), "
                    "container:NAME or a network");
    cmd->add_option("--network-alias", o.network_aliases, "other names on the network")
        ->allow_extra_args(false);
    cmd->add_option("-h,--hostname", o.hostname, "hostname");
    cmd->add_option("-u,--user", o.user, "user[:group]");
    cmd->add_option("-w,--workdir", o.workdir, "working directory");
    cmd->add_option("--entrypoint", f.entrypoint, "replace the image's entrypoint")
        ->each([&f](const std::string&) { f.entrypoint_given = true; });
    cmd->add_option("-m,--memory", o.memory, "memory limit (e.g. 512m)");
    cmd->add_option("--cpus", o.cpus, "CPUs (e.g. 1.5)");
    cmd->add_option("--pids-limit", o.pids_limit, "maximum number of processes");
    cmd->add_flag("--read-only", o.read_only, "read-only root filesystem");
    cmd->add_option("--cap-add", o.cap_add)->allow_extra_args(false);
    cmd->add_option("--cap-drop", o.cap_drop)->allow_extra_args(false);
    cmd->add_flag("--privileged", o.privileged, "all capabilities, no seccomp, no masked paths");
    cmd->add_option("--security-opt", o.security_opts, "seccomp=FILE|unconfined, no-new-privileges")
        ->allow_extra_args(false);
    cmd->add_option("--device", o.devices, "HOST[:CONTAINER[:PERMS]]")->allow_extra_args(false);
    cmd->add_option("--ulimit", o.ulimits, "NAME=SOFT[:HARD]")->allow_extra_args(false);
    cmd->add_flag("--init", o.init, "run a minimal init as pid 1");
    cmd->add_option("--restart", o.restart, "no, on-failure[:N], always, unless-stopped");
    cmd->add_option("--health-cmd", o.health_cmd, "command run in the container to check health");
    cmd->add_option("--health-interval", o.health_interval, "time between checks (30s)");
    cmd->add_option("--health-timeout", o.health_timeout, "time a check may take (30s)");
    cmd->add_option("--health-retries", o.health_retries, "failures before unhealthy (3)");
    cmd->add_option("-l,--label", o.labels, "KEY=VALUE")->allow_extra_args(false);
    cmd->add_option("--pull", o.pull, "always, missing or never");
    cmd->add_option("--platform", o.platform, "OS/ARCH[/VARIANT] to pull");
    cmd->add_option("--runtime", o.runtime, "OCI runtime (berth-runtime, runc, crun, or a path)");
    cmd->add_option("--stop-signal", o.stop_signal, "signal for stop");
    cmd->add_option("--stop-timeout", o.stop_timeout, "seconds before stop kills");
    cmd->add_option("image", f.image, "IMAGE [COMMAND [ARG...]]")->required();
    cmd->prefix_command();  // everything after the image belongs to the command
    f.command = cmd;
}

void finish_create_flags(RunFlags& f) {
    f.create.image = f.image;
    f.create.command = f.command->remaining();
    if (f.entrypoint_given) {
        f.create.entrypoint = std::vector<std::string>{};
        if (!f.entrypoint.empty()) f.create.entrypoint->push_back(f.entrypoint);
    }
}

// The start and the attach of `run` and `start -a`: returns the container's exit code.
int start_attached(Engine& engine, const ContainerRecord& r) {
    bool tty = r.config.value("tty", false);
    bool interactive = r.config.value("interactive", false);
    engine.start(r.id, {true});
    UniqueFd sock(engine.connect_attach(r.id));
    engine.finish_attached_start(r.id);
    int code = engine::attach_session(sock.get(), tty, interactive, [&](int sig) {
        try {
            engine.kill(r.id, std::to_string(sig));
        } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): it exited meanwhile
        }
    });
    if (code >= 0) return code;
    return static_cast<int>(engine.wait(r.id));
}

}  // namespace

std::function<int()> add_engine_commands(CLI::App& app, const std::string& root,
                                         const std::string& config, const std::string& authfile,
                                         const std::string& signature_policy,
                                         const std::string& requested) {
    // Parsed values live as long as the returned function.
    struct State {
        RunFlags run, create;
        std::vector<std::string> targets;
        std::string target, second, format = "table", signal = "KILL";
        std::vector<std::string> filters, command;
        bool all = false, quiet = false, force = false, volumes = false, attach = false;
        bool follow = false, timestamps = false, no_stream = false, interactive = false,
             tty = false;
        bool detach = false;
        int64_t timeout = -1, tail = -1;
        std::string since, subnet, gateway;
        bool internal = false;
        engine::ExecOptions exec;
        CLI::App* exec_cmd = nullptr;
        std::vector<std::string> labels;
        bool provenance = false;
        std::string key;
    };
    auto s = std::make_shared<State>();
    std::vector<std::pair<CLI::App*, std::function<int(Session&)>>> verbs;
    // Only the requested verb is built (a `CLI::App` per verb, each with its options, is a
    // measurable share of a container start); no verb or an unknown one: all, for the help.
    auto wants = [&requested](std::string_view name) {
        return requested.empty() || requested == name;
    };
    auto verb = [&](CLI::App* parent, const std::string& name, const std::string& help,
                    std::function<int(Session&)> action) {
        CLI::App* cmd = parent->add_subcommand(name, help);
        verbs.emplace_back(cmd, std::move(action));
        return cmd;
    };

    // run / create
    if (wants("run")) {
        CLI::App* run = verb(&app, "run", "run a command in a new container", [s](Session& x) {
            finish_create_flags(s->run);
            ContainerRecord r;
            try {
                x.engine.spawn_monitor_early();
                r = x.engine.create(s->run.create);
            } catch (const std::exception& e) {
                log::error(e.what());
                return 125;
            }
            try {
                if (s->run.detach) {
                    x.engine.start(r.id);
                    print_line(r.id);
                    return 0;
                }
                return start_attached(x.engine, r);
            } catch (const engine::StartError& e) {
                log::error(e.what());
                return e.code();
            } catch (const std::exception& e) {
                // Bad input found at start (a port in use): nothing is left half-made.
                log::error(e.what());
                try {
                    x.engine.remove(r.id, true, true);
                } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): rm can finish it
                }
                return 125;
            }
        });
        add_create_flags(run, s->run);
        run->add_flag("-d,--detach", s->run.detach, "run in the background and print the id");
    }
    if (wants("create")) {
        CLI::App* create = verb(&app, "create", "create a container", [s](Session& x) {
            finish_create_flags(s->create);
            try {
                print_line(x.engine.create(s->create.create).id);
            } catch (const std::exception& e) {
                log::error(e.what());
                return 125;
            }
            return 0;
        });
        add_create_flags(create, s->create);
    }

    if (wants("start")) {
        CLI::App* start = verb(&app, "start", "start containers", [s](Session& x) {
            for (const auto& t : s->targets) {
                if (s->attach) {
                    try {
                        return start_attached(x.engine, x.engine.find(t));
                    } catch (const engine::StartError& e) {
                        log::error(e.what());
                        return e.code();
                    }
                }
                x.engine.start(t);
                print_line(t);
            }
            return 0;
        });
        start->add_flag("-a,--attach", s->attach, "attach to its output and wait for its exit");
        start->add_option("container", s->targets)->required();
    }

    auto each = [s](const std::function<void(Session&, const std::string&)>& action) {
        return [s, action](Session& x) {
            int code = 0;
            for (const auto& t : s->targets) {
                try {
                    action(x, t);
                    print_line(t);
                } catch (const std::exception& e) {
                    log::error(e.what());
                    code = 1;
                }
            }
            return code;
        };
    };
    if (wants("stop")) {
        CLI::App* stop =
            verb(&app, "stop", "stop containers (stop signal, then SIGKILL)",
                 each([s](Session& x, const std::string& t) { x.engine.stop(t, s->timeout); }));
        stop->add_option("-t,--time", s->timeout, "seconds to wait before SIGKILL");
        stop->add_option("container", s->targets)->required();
    }
    if (wants("restart")) {
        CLI::App* restart =
            verb(&app, "restart", "restart containers",
                 each([s](Session& x, const std::string& t) { x.engine.restart(t, s->timeout); }));
        restart->add_option("-t,--time", s->timeout, "seconds to wait before SIGKILL");
        restart->add_option("container", s->targets)->required();
    }
    if (wants("kill")) {
        CLI::App* kill =
            verb(&app, "kill", "send a signal to containers",
                 each([s](Session& x, const std::string& t) { x.engine.kill(t, s->signal); }));
        kill->add_option("-s,--signal", s->signal, "signal (default KILL)");
        kill->add_option("container", s->targets)->required();
    }
    if (wants("rm")) {
        CLI::App* rm =
            verb(&app, "rm", "remove containers", each([s](Session& x, const std::string& t) {
                x.engine.remove(t, s->force, s->volumes);
            }));
        rm->add_flag("-f,--force", s->force, "kill a running container first");
        rm->add_flag("-v,--volumes", s->volumes, "remove its anonymous volumes too");
        rm->add_option("container", s->targets)->required();
    }
    if (wants("pause")) {
        CLI::App* pause = verb(&app, "pause", "freeze containers",
                               each([](Session& x, const std::string& t) { x.engine.pause(t); }));
        pause->add_option("container", s->targets)->required();
    }
    if (wants("unpause")) {
        CLI::App* unpause =
            verb(&app, "unpause", "thaw containers",
                 each([](Session& x, const std::string& t) { x.engine.unpause(t); }));
        unpause->add_option("container", s->targets)->required();
    }

    if (wants("rename")) {
        CLI::App* rename = verb(&app, "rename", "rename a container", [s](Session& x) {
            x.engine.rename(s->target, s->second);
            return 0;
        });
        rename->add_option("container", s->target)->required();
        rename->add_option("name", s->second)->required();
    }

    if (wants("wait")) {
        CLI::App* wait = verb(&app, "wait", "wait for containers to stop; print their exit codes",
                              [s](Session& x) {
                                  for (const auto& t : s->targets)
                                      print_line(std::to_string(x.engine.wait(t)));
                                  return 0;
                              });
        wait->add_option("container", s->targets)->required();
    }

    auto ps_action = [s](Session& x) {
        auto views = x.engine.list(s->all || !s->filters.empty());
        std::erase_if(views, [&](const auto& v) { return !matches_filters(v, s->filters); });
        if (s->quiet) {
            std::string out;
            for (const auto& v : views)
                out += short_id(v.record.id) + "\n";
            std::fputs(out.c_str(), stdout);
            return 0;
        }
        if (s->format == "json") {
            nlohmann::json out = nlohmann::json::array();
            for (const auto& v : views)
                out.push_back(
                    {{"Id", v.record.id},
                     {"Names", {v.record.name}},
                     {"Image", v.record.image},
                     {"Command", v.record.config.value("args", nlohmann::json::array())},
                     {"Created", v.record.created},
                     {"State", to_string(v.record.state.status)},
                     {"Status", v.status_text()},
                     {"ExitCode", v.record.state.exit_code},
                     {"Pid", v.record.state.pid},
                     {"Ports", ports_text(v.record)},
                     {"Labels", v.record.config.value("labels", nlohmann::json::object())}});
            print_line(out.dump(2));
            return 0;
        }
        std::string out = pad("CONTAINER ID", 14) + pad("IMAGE", 28) + pad("COMMAND", 24) +
                          pad("CREATED", 18) + pad("STATUS", 32) + pad("PORTS", 26) + "NAMES\n";
        for (const auto& v : views)
            out += pad(short_id(v.record.id), 14) + pad(v.record.image, 28) +
                   pad(command_text(v.record), 24) + pad(time_ago(v.record.created), 18) +
                   pad(v.status_text(), 32) + pad(ports_text(v.record), 26) + v.record.name + "\n";
        std::fputs(out.c_str(), stdout);
        return 0;
    };
    auto add_ps_flags = [s](CLI::App* cmd) {
        cmd->add_flag("-a,--all", s->all, "also stopped containers");
        cmd->add_flag("-q,--quiet", s->quiet, "ids only");
        cmd->add_option("-f,--filter", s->filters,
                        "status=, name=, id=, label=, ancestor=, exited=")
            ->allow_extra_args(false);
        cmd->add_option("--format", s->format, "table or json")
            ->check(CLI::IsMember({"table", "json"}));
    };
    if (wants("ps")) {
        add_ps_flags(verb(&app, "ps", "list containers", ps_action));
    }

    if (wants("logs")) {
        CLI::App* logs = verb(&app, "logs", "show a container's output", [s](Session& x) {
            engine::LogsOptions o;
            o.follow = s->follow;
            o.timestamps = s->timestamps;
            if (s->tail >= 0) o.tail = s->tail;
            o.since = s->since;
            x.engine.logs(s->target, o, STDOUT_FILENO, STDERR_FILENO);
            return 0;
        });
        logs->add_flag("-f,--follow", s->follow, "keep following the output");
        logs->add_flag("-t,--timestamps", s->timestamps, "show timestamps");
        logs->add_option("--tail", s->tail, "only the last N lines");
        logs->add_option("--since", s->since, "RFC 3339 time or a duration (10m)");
        logs->add_option("container", s->target)->required();
    }

    if (wants("exec")) {
        CLI::App* exec =
            verb(&app, "exec", "run a command in a running container", [s](Session& x) {
                s->exec.tty = s->tty;
                s->exec.interactive = s->interactive;
                s->exec.detach = s->detach;
                s->exec.command = s->exec_cmd->remaining();
                try {
                    return x.engine.exec(s->target, s->exec);
                } catch (const engine::StartError& e) {
                    log::error(e.what());
                    return e.code();
                } catch (const std::exception& e) {
                    log::error(e.what());
                    return 125;
                }
            });
        exec->add_flag("-i,--interactive", s->interactive, "keep stdin open");
        exec->add_flag("-t,--tty", s->tty, "allocate a terminal");
        exec->add_flag("-d,--detach", s->detach, "run in the background");
        exec->add_option("-e,--env", s->exec.env, "KEY=VALUE")->allow_extra_args(false);
        exec->add_option("-u,--user", s->exec.user, "user[:group]");
        exec->add_option("-w,--workdir", s->exec.workdir, "working directory");
        exec->add_option("container", s->target, "CONTAINER COMMAND [ARG...]")->required();
        exec->prefix_command();
        s->exec_cmd = exec;
    }

    if (wants("inspect")) {
        TrustGlobals trust_globals{root, config, authfile, signature_policy};
        CLI::App* inspect = verb(
            &app, "inspect", "show containers or images as JSON", [s, trust_globals](Session& x) {
                if (!s->key.empty() && !s->provenance)
                    throw Error("inspect --key: only with --provenance");
                if (s->provenance) {
                    if (s->targets.size() != 1) throw Error("inspect --provenance: name one image");
                    return inspect_provenance(trust_globals, s->targets.front(), s->key);
                }
                nlohmann::ordered_json out = nlohmann::ordered_json::array();
                for (const auto& t : s->targets) {
                    try {
                        out.push_back(nlohmann::ordered_json(x.engine.inspect(t)));
                    } catch (const engine::ContainerNotFound&) {
                        out.push_back(inspect_json(x.images, x.images.find(t, x.settings)));
                    }
                }
                print_line(out.dump(2));
                return 0;
            });
        inspect->add_option("target", s->targets, "containers or images")->required();
        inspect->add_flag("--provenance", s->provenance,
                          "print the SLSA provenance attached to the image in its registry");
        inspect->add_option("--key", s->key,
                            "with --provenance: accept only provenance signed by this public key");
    }

    if (wants("top")) {
        CLI::App* top = verb(&app, "top", "processes of a container", [s](Session& x) {
            std::fputs(x.engine.top(s->target).c_str(), stdout);
            return 0;
        });
        top->add_option("container", s->target)->required();
    }

    if (wants("stats")) {
        CLI::App* stats = verb(&app, "stats", "resource usage of containers", [s](Session& x) {
            std::vector<std::string> targets = s->targets;
            if (targets.empty())
                for (const auto& v : x.engine.list(false))
                    targets.push_back(v.record.id);
            do {
                std::string out = pad("CONTAINER ID", 14) + pad("NAME", 24) + pad("CPU (s)", 12) +
                                  pad("MEM USAGE / LIMIT", 28) + "PIDS\n";
                for (const auto& t : targets) {
                    auto j = x.engine.stats(t);
                    out +=
                        pad(short_id(j["id"]), 14) + pad(j["name"], 24) +
                        pad(std::to_string(j["cpu_total_ns"].get<int64_t>() / 1000000000.0)
                                .substr(0, 8),
                            12) +
                        pad(human_size(j["memory_usage"]) + " / " + human_size(j["memory_limit"]),
                            28) +
                        std::to_string(j["pids"].get<int64_t>()) + "\n";
                }
                std::fputs(out.c_str(), stdout);
                std::fflush(stdout);
                if (!s->no_stream) ::sleep(1);
            } while (!s->no_stream);
            return 0;
        });
        stats->add_flag("--no-stream", s->no_stream, "print once");
        stats->add_option("container", s->targets);
    }

    if (wants("port")) {
        CLI::App* port = verb(&app, "port", "published ports of a container", [s](Session& x) {
            for (const auto& line : x.engine.ports(s->target))
                print_line(line);
            return 0;
        });
        port->add_option("container", s->target)->required();
    }

    if (wants("cp")) {
        CLI::App* cp =
            verb(&app, "cp", "copy files between a container and the host", [s](Session& x) {
                x.engine.copy(s->target, s->second);
                return 0;
            });
        cp->add_option("source", s->target)->required();
        cp->add_option("destination", s->second)->required();
    }

    if (wants("events")) {
        CLI::App* events =
            verb(&app, "events", "container state changes as they happen", [](Session& x) -> int {
                // Polls the state database: one line per change of a container's status.
                std::map<std::string, std::string> last;
                bool first = true;
                while (true) {
                    std::map<std::string, std::string> now;
                    for (const auto& v : x.engine.list(true))
                        now[v.record.id] = to_string(v.record.state.status) + " " + v.record.name;
                    if (!first) {
                        for (const auto& [id, st] : now)
                            if (last[id] != st)
                                print_line(rfc3339_now() + " container " +
                                           st.substr(0, st.find(' ')) + " " + short_id(id) +
                                           " (name=" + st.substr(st.find(' ') + 1) + ")");
                        for (const auto& [id, st] : last)
                            if (!now.count(id))
                                print_line(rfc3339_now() + " container destroy " + short_id(id));
                        std::fflush(stdout);
                    }
                    first = false;
                    last = now;
                    ::usleep(200000);
                }
            });
        (void)events;
    }

    if (wants("container-cleanup")) {
        CLI::App* cleanup = verb(&app, "container-cleanup", "", [s](Session& x) {
            x.engine.cleanup(s->target);
            return 0;
        });
        cleanup->add_option("id", s->target)->required();
        cleanup->group("");  // internal: the monitor's exit command
    }

    // network
    if (wants("network")) {
        CLI::App* network = app.add_subcommand("network", "manage networks");
        network->require_subcommand(1);
        CLI::App* net_create = verb(network, "create", "create a bridge network", [s](Session& x) {
            engine::NetworkCreateOptions o;
            o.subnet = s->subnet;
            o.gateway = s->gateway;
            o.internal = s->internal;
            print_line(x.engine.networks().create(s->target, o).id);
            return 0;
        });
        net_create->add_option("--subnet", s->subnet, "a.b.c.d/n");
        net_create->add_option("--gateway", s->gateway, "the bridge's address");
        net_create->add_flag("--internal", s->internal, "no route out");
        net_create->add_option("name", s->target)->required();
        auto net_ls = [s](Session& x) {
            auto list = x.engine.networks().list();
            if (s->quiet) {
                for (const auto& n : list)
                    print_line(n.name);
                return 0;
            }
            std::string out =
                pad("NETWORK ID", 14) + pad("NAME", 20) + pad("DRIVER", 10) + "SUBNET\n";
            for (const auto& n : list)
                out +=
                    pad(short_id(n.id), 14) + pad(n.name, 20) + pad("bridge", 10) + n.subnet + "\n";
            std::fputs(out.c_str(), stdout);
            return 0;
        };
        verb(network, "ls", "list networks", net_ls)
            ->add_flag("-q,--quiet", s->quiet, "names only");
        CLI::App* net_rm =
            verb(network, "rm", "remove networks",
                 each([](Session& x, const std::string& t) { x.engine.remove_network(t); }));
        net_rm->add_option("network", s->targets)->required();
        CLI::App* net_inspect = verb(network, "inspect", "show networks as JSON", [s](Session& x) {
            nlohmann::json out = nlohmann::json::array();
            for (const auto& t : s->targets) {
                auto net = x.engine.networks().get(t);
                nlohmann::json j = x.engine.networks().inspect(net);
                j["Containers"] = nlohmann::json::object();
                for (const auto& v : x.engine.list(false)) {
                    auto a = v.record.config.value("attachments", nlohmann::json::object());
                    if (a.contains(net.name))
                        j["Containers"][v.record.id] = {
                            {"Name", v.record.name}, {"IPv4Address", a[net.name].value("ip", "")}};
                }
                out.push_back(j);
            }
            print_line(out.dump(2));
            return 0;
        });
        net_inspect->add_option("network", s->targets)->required();
        CLI::App* net_connect =
            verb(network, "connect", "connect a running container to a network", [s](Session& x) {
                x.engine.connect(s->target, s->second);
                return 0;
            });
        net_connect->add_option("network", s->target)->required();
        net_connect->add_option("container", s->second)->required();
        CLI::App* net_disconnect =
            verb(network, "disconnect", "disconnect a container from a network", [s](Session& x) {
                x.engine.disconnect(s->target, s->second);
                return 0;
            });
        net_disconnect->add_option("network", s->target)->required();
        net_disconnect->add_option("container", s->second)->required();
    }

    // volume
    if (wants("volume")) {
        CLI::App* volume = app.add_subcommand("volume", "manage volumes");
        volume->require_subcommand(1);
        CLI::App* vol_create = verb(volume, "create", "create a volume", [s](Session& x) {
            nlohmann::json labels = nlohmann::json::object();
            for (const auto& l : s->labels) {
                size_t eq = l.find('=');
                labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
            }
            std::string name = s->target.empty() ? engine::random_hex(32) : s->target;
            print_line(x.engine.volumes().create(name, labels).name);
            return 0;
        });
        vol_create->add_option("--label", s->labels)->allow_extra_args(false);
        vol_create->add_option("name", s->target);
        verb(volume, "ls", "list volumes", [s](Session& x) {
            auto list = x.engine.volumes().list();
            if (!s->quiet) print_line(pad("DRIVER", 10) + "VOLUME NAME");
            for (const auto& v : list)
                print_line(s->quiet ? v.name : pad("local", 10) + v.name);
            return 0;
        })->add_flag("-q,--quiet", s->quiet, "names only");
        CLI::App* vol_rm =
            verb(volume, "rm", "remove volumes",
                 each([](Session& x, const std::string& t) { x.engine.remove_volume(t); }));
        vol_rm->add_option("volume", s->targets)->required();
        CLI::App* vol_inspect = verb(volume, "inspect", "show volumes as JSON", [s](Session& x) {
            nlohmann::json out = nlohmann::json::array();
            for (const auto& t : s->targets) {
                auto v = x.engine.volumes().get(t);
                if (!v) throw Error("no such volume: " + t);
                out.push_back(x.engine.volumes().inspect(*v));
            }
            print_line(out.dump(2));
            return 0;
        });
        vol_inspect->add_option("volume", s->targets)->required();
        verb(volume, "prune", "remove volumes no container uses", [s](Session& x) {
            for (const auto& name : x.engine.prune_volumes(s->all))
                print_line("Deleted: " + name);
            return 0;
        })->add_flag("-a,--all", s->all, "named volumes too, not only anonymous ones");
    }

    // system prune, system df
    if (wants("system")) {
        CLI::App* system = app.add_subcommand("system", "system-wide information and cleanup");
        system->require_subcommand(1);
        verb(system, "df", "disk usage of images, containers, volumes, blobs and snapshots",
             [s](Session& x) {
                 auto usage = x.engine.disk_usage();
                 auto cache = build::build_cache_usage(x.images);
                 if (s->format == "json")
                     print_line(disk_usage_json(usage, cache).dump(2));
                 else
                     std::fputs(disk_usage_table(usage, cache).c_str(), stdout);
                 return 0;
             })
            ->add_option("--format", s->format, "table or json")
            ->check(CLI::IsMember({"table", "json"}));
        verb(system, "prune", "remove stopped containers and unused networks", [](Session& x) {
            for (const auto& id : x.engine.prune_containers())
                print_line("Deleted container: " + id);
            for (const auto& name : x.engine.prune_networks())
                print_line("Deleted network: " + name);
            return 0;
        });
    }

    if (wants("info")) {
        verb(&app, "info", "about this berth", [&root](Session& x) {  // &: --root is parsed later
            auto views = x.engine.list(true);
            size_t running = 0;
            for (const auto& v : views)
                running += v.record.state.status == Status::running;
            nlohmann::ordered_json j = {{"Root", root},
                                        {"RunRoot", x.engine.paths().run},
                                        {"Rootless", engine::rootless()},
                                        {"Containers", views.size()},
                                        {"ContainersRunning", running},
                                        {"Images", x.images.db().list().size()},
                                        {"Volumes", x.engine.volumes().list().size()},
                                        {"Networks", x.engine.networks().list().size()},
                                        {"DefaultRuntime", engine::helper_program("berth-runtime")},
                                        {"Monitor", engine::helper_program("berth-monitor")},
                                        {"CNIPath", "/usr/lib/cni"},
                                        {"Version", BERTH_VERSION}};
            print_line(j.dump(2));
            return 0;
        });
    }
    if (wants("version")) {
        verb(&app, "version", "berth's version", [](Session&) {
            print_line(std::string("berth version ") + BERTH_VERSION);
            return 0;
        });
    }

    return [verbs, s, &root, &config, &authfile, &signature_policy]() -> int {
        for (const auto& [cmd, action] : verbs) {
            if (!cmd->parsed()) continue;
            try {
                Session session(root, config, authfile, signature_policy);
                return action(session);
            } catch (const std::exception& e) {
                log::error(e.what());
                return 1;
            }
        }
        return -1;
    };
}

}  // namespace berth::cli
