#include "build/stage_executor.hpp"

#include <fcntl.h>

#include <algorithm>
#include <cmath>
#include <variant>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/path.hpp"
#include "common/strings.hpp"
#include "common/time.hpp"
#include "engine/container/specs.hpp"
#include "image/platform.hpp"
#include "image/runtime_config.hpp"
#include "image/snapshots.hpp"

namespace berth::build {
namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Go's %q of a []string: ["a" "b"].
std::string quoted_list(const std::vector<std::string>& items) {
    std::string out = "[";
    for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += ' ';
        out += nlohmann::json(items[i]).dump();
    }
    return out + "]";
}

// Go's %v of a []string: [a b].
std::string plain_list(const std::vector<std::string>& items) {
    return "[" + join(items, " ") + "]";
}

// EXPOSE's port specs as docker normalises them: "80" -> "80/tcp", ranges expanded.
std::vector<std::string> normalize_ports(const std::string& spec) {
    std::string port = spec, proto = "tcp";
    size_t slash = spec.find('/');
    if (slash != std::string::npos) {
        port = spec.substr(0, slash);
        proto = spec.substr(slash + 1);
        for (char& c : proto)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (proto != "tcp" && proto != "udp" && proto != "sctp")
        throw BuildError("invalid proto: " + proto);
    size_t dash = port.find('-');
    auto number = [&](const std::string& text) {
        auto v = parse_uint64(text);
        if (!v || *v > 65535) throw BuildError("invalid containerPort: " + spec);
        return *v;
    };
    uint64_t first = number(dash == std::string::npos ? port : port.substr(0, dash));
    uint64_t last = dash == std::string::npos ? first : number(port.substr(dash + 1));
    if (last < first) throw BuildError("invalid range specified for container port: " + spec);
    std::vector<std::string> out;
    for (uint64_t p = first; p <= last; ++p)
        out.push_back(std::to_string(p) + "/" + proto);
    return out;
}

void add_sorted_unique(std::vector<std::string>& list, const std::string& item) {
    auto it = std::lower_bound(list.begin(), list.end(), item);
    if (it == list.end() || *it != item) list.insert(it, item);
}

std::string join_kv(const std::vector<std::pair<std::string, std::string>>& kvs) {
    std::string out;
    for (const auto& [k, v] : kvs)
        out += " " + k + "=" + v;
    return out;
}

}  // namespace

StageExecutor::StageExecutor(Session& session, const PlannedStage& stage)
    : s_(session), p_(stage), no_cache_(stage.no_cache) {}

std::string StageExecutor::location(const Command& cmd) const {
    return s_.containerfile().file + ":" + std::to_string(cmd.line) + ": " + cmd.keyword + ": ";
}

std::string StageExecutor::expand(const std::string& word, const Command& cmd) const {
    try {
        return s_.lexer().process_word(word, env_);
    } catch (const ExpansionError& e) {
        throw BuildError(location(cmd) + e.what());
    }
}

std::string StageExecutor::vertex_name(const std::string& text) {
    if (p_.steps_total == 0) return text;
    ++vertex_index_;
    std::string prefix = "[";
    if (!p_.display_name.empty()) prefix += p_.display_name + " ";
    int width = 1 + static_cast<int>(std::log10(std::max(1, p_.steps_total)));
    std::string index = std::to_string(vertex_index_);
    while (static_cast<int>(index.size()) < width)
        index.insert(index.begin(), ' ');
    return prefix + index + "/" + std::to_string(p_.steps_total) + "] " + text;
}

int StageExecutor::begin_vertex(const std::string& text) {
    int id = s_.next_step_id();
    s_.progress().started(id, vertex_name(text));
    ++s_.steps;
    return id;
}

bool StageExecutor::cache_enabled() const {
    return !s_.options().no_cache && !no_cache_;
}

void StageExecutor::add_history(const std::string& created_by, bool layer,
                                std::optional<int64_t> created) {
    oci::HistoryEntry h;
    auto epoch = s_.source_date_epoch();
    if (epoch)
        h.created = format_rfc3339({static_cast<time_t>(*epoch), 0});
    else if (created)
        h.created = format_rfc3339({static_cast<time_t>(*created), 0});
    h.created_by = created_by;
    h.comment = "buildkit.dockerfile.v0";
    h.empty_layer = !layer;
    state_.config.history.push_back(std::move(h));
}

bool StageExecutor::try_cache(const Digest& key, int step, const std::string& history) {
    if (!cache_enabled()) return false;
    auto found = s_.lookup_cache(key);
    if (!found) return false;
    auto [entry, imported] = *found;
    std::optional<LayerRef> layer = entry.layer;
    if (layer) {
        std::optional<Digest> parent;
        if (!state_.layers.empty()) parent = state_.layers.back().chain;
        layer->chain = image::chain_id(parent, layer->diff_id);
        std::vector<LayerRef> all = state_.layers;
        all.push_back(*layer);
        try {
            s_.ensure_snapshots(all);
        } catch (const Error&) {
            return false;  // its blob is gone too: run the step again
        }
    }
    entry.layer = layer;
    if (imported) {
        s_.cache().record(entry);
        s_.added_cache_entry(key);
    } else {
        s_.cache().touch(key);
    }
    s_.used_cache_entry(entry, p_.index);
    push_layer(layer);
    state_.key = key;
    add_history(history, layer.has_value(),
                layer ? std::optional<int64_t>(entry.created) : std::nullopt);
    s_.progress().cached(step);
    s_.progress().finished(step, "");
    ++s_.cached_steps;
    return true;
}

void StageExecutor::push_layer(const std::optional<LayerRef>& layer) {
    if (!layer) return;
    state_.layers.push_back(*layer);
    state_.config.diff_ids.push_back(layer->diff_id);
}

void StageExecutor::start_from_base() {
    const Stage& stage = *p_.stage;
    std::vector<std::string> triggers;
    if (p_.base_stage) {
        state_ = s_.stage_result(*p_.base_stage);
        triggers = state_.onbuild;
        state_.onbuild.clear();
        state_.config.config.on_build.clear();
    } else if (p_.base == "scratch") {
        oci::Platform host = image::host_platform();
        state_.config.architecture = host.architecture;
        state_.config.os = host.os;
        state_.config.variant = host.variant;
        state_.key = KeyBuilder("scratch").finish();
    } else {
        int vertex = begin_vertex("FROM " + p_.base);
        bool pulled = false;
        image::Image base;
        try {
            base = s_.resolve_image(p_.base, vertex, &pulled);
        } catch (const std::exception& e) {
            s_.progress().finished(vertex, e.what());
            throw BuildError(s_.containerfile().file + ":" + std::to_string(stage.line) +
                             ": FROM " + p_.base + ": " + e.what());
        }
        state_.config = base.config;
        state_.config.created.clear();
        state_.base_name = p_.base;
        state_.base_manifest = base.record.id;
        for (size_t i = 0; i < base.manifest.layers.size(); ++i) {
            const oci::Descriptor& d = base.manifest.layers[i];
            state_.layers.push_back(
                {base.config.diff_ids.at(i), d.digest, d.media_type, d.size, base.chain.at(i)});
        }
        state_.key = KeyBuilder("from").add(base.record.config).finish();
        triggers = state_.config.config.on_build;
        state_.config.config.on_build.clear();
        if (!pulled) {
            s_.progress().cached(vertex);
            ++s_.cached_steps;
        }
        s_.progress().finished(vertex, "");
    }
    if (!env_lookup(state_.config.config.env, "PATH"))
        state_.config.config.env.push_back(std::string("PATH=") + kDefaultPath);
    env_ = Environment(state_.config.config.env);
    for (const auto& trigger : triggers) {
        Command cmd =
            parse_command_text(trigger, s_.containerfile().file, stage.line, stage.column);
        dispatch(cmd, true);
    }
}

StageResult StageExecutor::run() {
    start_from_base();
    for (const Command& cmd : p_.stage->commands)
        dispatch(cmd, false);
    return state_;
}

void StageExecutor::do_arg(const Command& cmd, const ArgCommand& a) {
    std::vector<std::pair<std::string, std::string>> shown;
    KeyBuilder key("arg");
    key.add(state_.key);
    for (const auto& def : a.args) {
        std::optional<std::string> value;
        std::optional<std::string> given;
        for (const auto& [k, v] : s_.options().build_args)
            if (k == def.key) given = v;
        if (!def.value && !given) value = s_.global_args().get(def.key);
        if (given)
            value = given;
        else if (def.value)
            value = expand(*def.value, cmd);
        if (value) env_.set(def.key, *value);
        bool replaced = false;
        for (auto& [k, v] : args_)
            if (k == def.key) {
                v = value;
                replaced = true;
            }
        if (!replaced) args_.emplace_back(def.key, value);
        shown.emplace_back(def.key, value.value_or(""));
        key.add(def.key).add(value ? "=" + *value : "");
    }
    state_.key = key.finish();
    std::string text = "ARG";
    for (const auto& [k, v] : shown)
        text += " " + k + (v.empty() ? "" : "=" + v);
    add_history(text, false);
}

void StageExecutor::do_workdir(const Command& cmd, const WorkdirCommand& w) {
    std::string path = expand(w.path, cmd);
    std::string current =
        state_.config.config.working_dir.empty() ? "/" : state_.config.config.working_dir;
    std::string wd = is_absolute_path(path) ? clean_path(path) : join_path(current, path);
    if (!is_absolute_path(wd)) wd = "/" + wd;
    state_.config.config.working_dir = wd;
    if (wd == "/") {
        state_.key = KeyBuilder("workdir").add(state_.key).add(wd).finish();
        add_history("WORKDIR " + wd, false);
        return;
    }
    std::string user = state_.config.config.user;
    Digest key = KeyBuilder("workdir").add(state_.key).add(wd).add(user).finish();
    std::string history = "WORKDIR " + wd;
    int step = begin_vertex(history);
    if (try_cache(key, step, history)) return;
    try {
        StepRoot root = mount_step_root();
        UniqueFd rootfs = open_file(root.rootfs, O_RDONLY | O_DIRECTORY);
        std::optional<Owner> owner;
        if (!user.empty()) {
            image::ResolvedUser u = image::resolve_user(user, rootfs.get());
            owner = Owner{u.uid, u.gid};
        }
        make_directories(rootfs.get(), wd, 0755, owner);
        rootfs.reset();
        std::optional<LayerRef> layer = commit_layer(root, key, history);
        push_layer(layer);
        state_.key = key;
        add_history(history, layer.has_value(),
                    layer ? std::optional<int64_t>(last_created_) : std::nullopt);
        s_.progress().finished(step, "");
    } catch (const std::exception& e) {
        s_.progress().finished(step, e.what());
        throw;
    }
}

void StageExecutor::dispatch(const Command& cmd, bool /*from_onbuild*/) {
    s_.check_canceled();
    oci::ContainerConfig& c = state_.config.config;
    std::visit(
        [&](const auto& body) {
            using T = std::decay_t<decltype(body)>;
            if constexpr (std::is_same_v<T, RunCommand>) {
                do_run(cmd, body);
            } else if constexpr (std::is_same_v<T, CopyCommand>) {
                do_copy(cmd, body);
            } else if constexpr (std::is_same_v<T, EnvCommand>) {
                std::vector<std::pair<std::string, std::string>> kvs;
                KeyBuilder key("env");
                key.add(state_.key);
                for (const auto& kv : body.env) {
                    std::string k = expand(kv.key, cmd), v = expand(kv.value, cmd);
                    env_set(c.env, k, v);
                    env_.set(k, v);
                    kvs.emplace_back(k, v);
                    key.add(k).add(v);
                }
                state_.key = key.finish();
                add_history("ENV" + join_kv(kvs), false);
            } else if constexpr (std::is_same_v<T, LabelCommand>) {
                std::vector<std::pair<std::string, std::string>> kvs;
                for (const auto& kv : body.labels) {
                    std::string k = expand(kv.key, cmd), v = expand(kv.value, cmd);
                    c.labels[k] = v;
                    kvs.emplace_back(k, v);
                }
                add_history("LABEL" + join_kv(kvs), false);
            } else if constexpr (std::is_same_v<T, MaintainerCommand>) {
                state_.config.author = body.maintainer;
                add_history("MAINTAINER " + body.maintainer, false);
            } else if constexpr (std::is_same_v<T, ArgCommand>) {
                do_arg(cmd, body);
            } else if constexpr (std::is_same_v<T, WorkdirCommand>) {
                do_workdir(cmd, body);
            } else if constexpr (std::is_same_v<T, UserCommand>) {
                c.user = expand(body.user, cmd);
                state_.key = KeyBuilder("user").add(state_.key).add(c.user).finish();
                add_history("USER " + c.user, false);
            } else if constexpr (std::is_same_v<T, ExposeCommand>) {
                std::vector<std::string> ports;
                for (const auto& p : body.ports) {
                    std::vector<std::string> words;
                    try {
                        words = s_.lexer().process_words(p, env_);
                    } catch (const ExpansionError& e) {
                        throw BuildError(location(cmd) + e.what());
                    }
                    for (const auto& w : words)
                        for (const auto& normalized : normalize_ports(w)) {
                            add_sorted_unique(c.exposed_ports, normalized);
                            ports.push_back(normalized);
                        }
                }
                add_history("EXPOSE " + plain_list(ports), false);
            } else if constexpr (std::is_same_v<T, VolumeCommand>) {
                std::vector<std::string> volumes;
                for (const auto& v : body.volumes) {
                    std::string expanded = expand(v, cmd);
                    if (expanded.empty())
                        throw BuildError(location(cmd) +
                                         "VOLUME specified can not be an empty string");
                    add_sorted_unique(c.volumes, expanded);
                    volumes.push_back(expanded);
                }
                add_history("VOLUME " + plain_list(volumes), false);
            } else if constexpr (std::is_same_v<T, CmdCommand>) {
                c.cmd = body.line.prepend_shell ? shell_words(body.line.args) : body.line.args;
                cmd_set_ = true;
                add_history("CMD " + quoted_list(c.cmd), false);
            } else if constexpr (std::is_same_v<T, EntrypointCommand>) {
                c.entrypoint =
                    body.line.prepend_shell ? shell_words(body.line.args) : body.line.args;
                if (!cmd_set_) c.cmd.clear();
                add_history("ENTRYPOINT " + quoted_list(c.entrypoint), false);
            } else if constexpr (std::is_same_v<T, ShellCommand>) {
                c.shell = body.shell;
                state_.key =
                    KeyBuilder("shell").add(state_.key).add(join(body.shell, "\n")).finish();
                add_history("SHELL " + plain_list(body.shell), false);
            } else if constexpr (std::is_same_v<T, StopSignalCommand>) {
                std::string signal = expand(body.signal, cmd);
                try {
                    engine::parse_signal(signal);
                } catch (const Error& e) {
                    throw BuildError(location(cmd) + e.what());
                }
                c.stop_signal = signal;
                add_history("STOPSIGNAL " + signal, false);
            } else if constexpr (std::is_same_v<T, HealthcheckCommand>) {
                oci::HealthConfig h;
                h.test = body.test;
                h.interval = body.interval;
                h.timeout = body.timeout;
                h.start_period = body.start_period;
                h.start_interval = body.start_interval;
                h.retries = body.retries;
                c.healthcheck = h;
                add_history("HEALTHCHECK " + quoted_list(h.test), false);
            } else if constexpr (std::is_same_v<T, OnbuildCommand>) {
                c.on_build.push_back(body.expression);
                state_.onbuild.push_back(body.expression);
            }
        },
        cmd.body);
}

std::vector<std::string> StageExecutor::shell_words(
    const std::vector<std::string>& line_args) const {
    std::vector<std::string> shell = state_.config.config.shell;
    if (shell.empty()) shell = {"/bin/sh", "-c"};
    shell.insert(shell.end(), line_args.begin(), line_args.end());
    return shell;
}

}  // namespace berth::build
