// RUN: its command line (shell or exec form, heredocs as BuildKit runs them), its --mount
// (cache, secret, bind, tmpfs, ssh) and --network, its key, and the one-shot container
// through the engine. Mount points the runtime had to create (/etc/hosts on an image without
// /etc, a secret's target, ...) are taken out of the layer again, as BuildKit does.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <filesystem>

#include "build/stage_executor.hpp"
#include "common/error.hpp"
#include "common/file.hpp"
#include "common/path.hpp"
#include "common/remove_tree.hpp"
#include "common/strings.hpp"
#include "engine/engine.hpp"

namespace berth::build {
namespace {

const std::set<std::string>& proxy_args() {
    static const std::set<std::string> names = {
        "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
        "ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy"};
    return names;
}

// The fields of a --mount (CSV), each value expanded, joined again (values quoted when
// they need it).
std::string expand_mount(const std::string& spec,
                         const std::function<std::string(const std::string&)>& expand_word) {
    std::vector<std::string> fields;
    std::string field;
    bool quoted = false;
    for (char c : spec) {
        if (c == '"') quoted = !quoted;
        if (c == ',' && !quoted) {
            fields.push_back(field);
            field.clear();
        } else {
            field += c;
        }
    }
    fields.push_back(field);
    std::string out;
    for (auto f : fields) {
        if (f.size() >= 2 && f.front() == '"' && f.back() == '"') f = f.substr(1, f.size() - 2);
        size_t eq = f.find('=');
        if (eq != std::string::npos) {
            std::string value = expand_word(f.substr(eq + 1));
            f = f.substr(0, eq + 1) + value;
        }
        if (f.find_first_of(",\"") != std::string::npos) {
            std::string q = "\"";
            for (char c : f)
                q += c == '"' ? std::string("\"\"") : std::string(1, c);
            f = q + "\"";
        }
        if (!out.empty()) out += ',';
        out += f;
    }
    return out;
}

// A mount point the container needs that the rootfs lacks: the runtime makes it (an empty
// file or directory, with parents), and the layer must not keep it.
struct MountStub {
    std::string missing;  // the first component that did not exist
    // Its ancestors as they were (mode, owner), to drop their copy-ups from the upper dir.
    std::vector<std::pair<std::string, struct stat>> ancestors;
};

std::optional<MountStub> find_stub(int rootfs_fd, const std::string& path) {
    std::string remaining = clean_path("/" + path);
    MountStub stub;
    std::string current;
    for (int hops = 0; hops < 40; ++hops) {
        std::vector<std::string> parts = split(remaining.substr(1), '/');
        bool restarted = false;
        for (size_t i = 0; i < parts.size(); ++i) {
            if (parts[i].empty()) continue;
            std::string next = current + "/" + parts[i];
            UniqueFd fd = try_open_in_root(rootfs_fd, next, O_PATH | O_NOFOLLOW);
            if (!fd) {
                stub.missing = next;
                return stub;
            }
            struct stat st {};
            if (::fstat(fd.get(), &st) < 0) return std::nullopt;
            if (S_ISLNK(st.st_mode)) {
                std::string target(4096, '\0');
                ssize_t n = ::readlinkat(fd.get(), "", target.data(), target.size());
                if (n < 0) return std::nullopt;
                target.resize(static_cast<size_t>(n));
                std::string rest;
                for (size_t j = i + 1; j < parts.size(); ++j)
                    rest += "/" + parts[j];
                remaining =
                    clean_path((is_absolute_path(target) ? target : current + "/" + target) + rest);
                current.clear();
                stub.ancestors.clear();
                restarted = true;
                break;
            }
            if (i + 1 < parts.size()) stub.ancestors.emplace_back(next, st);
            current = next;
        }
        if (!restarted) return std::nullopt;
    }
    return std::nullopt;
}

// An empty file, or a directory of nothing but such (what a runtime leaves for a mount).
bool is_stub_tree(int dir_fd, const std::string& name) {
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return false;
    if (S_ISREG(st.st_mode)) return st.st_size == 0;
    if (!S_ISDIR(st.st_mode)) return false;
    UniqueFd sub(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub) return false;
    for (const auto& child : list_directory(sub.get(), name))
        if (!is_stub_tree(sub.get(), child)) return false;
    return true;
}

class TailBuffer {
  public:
    void add(std::string_view text) {
        data_ += text;
        if (data_.size() > 8192) data_.erase(0, data_.size() - 8192);
    }
    [[nodiscard]] std::string last_lines(size_t n) const {
        std::vector<std::string> lines;
        for (const auto& l : split(data_, '\n'))
            if (!trim(l).empty()) lines.push_back(l);
        if (lines.size() > n) lines.erase(lines.begin(), lines.end() - static_cast<ptrdiff_t>(n));
        return join(lines, "\n");
    }

  private:
    std::string data_;
};

// Holds a cache mount's lock for the run.
struct HeldLock {
    UniqueFd fd;
};

}  // namespace

void StageExecutor::do_run(const Command& cmd, const RunCommand& run) {
    // The command line, with heredocs as BuildKit runs them.
    std::vector<std::string> args = run.line.args;
    std::optional<std::pair<std::string, std::string>> script;  // name, content (#! heredoc)
    if (!run.line.files.empty()) {
        if (args.size() != 1 || !run.line.prepend_shell)
            throw BuildError(location(cmd) + "parsing produced an invalid run command");
        Heredoc word = parse_heredoc_word(args[0]);
        if (!word.name.empty()) {
            std::string data = run.line.files[0].content;
            if (run.line.files[0].chomp) data = chomp_heredoc(data);
            if (data.starts_with("#!")) {
                script = std::make_pair(run.line.files[0].name, data);
                args = {"/dev/pipes/" + run.line.files[0].name};
            } else {
                args = {data};
            }
        } else {
            std::string joined = args[0];
            for (const auto& f : run.line.files)
                joined += "\n" + f.content + f.name;
            args = {joined};
        }
    }
    if (run.line.prepend_shell) args = shell_words(args);

    std::vector<RunMount> mounts;
    for (const auto& spec : run.mounts) {
        try {
            mounts.push_back(parse_run_mount(
                expand_mount(spec, [&](const std::string& w) { return expand(w, cmd); })));
        } catch (const BuildError&) {
            throw;
        } catch (const Error& e) {
            throw BuildError(location(cmd) + "--mount=" + spec + ": " + e.what());
        }
    }
    std::string network = run.network == "default" ? s_.options().network : run.network;

    // The environment: the image's, ENV, ARGs in scope; proxy build args (not in the key).
    std::vector<std::string> env = env_.entries();
    std::vector<std::string> proxies;
    for (const auto& [k, v] : s_.options().build_args)
        if (proxy_args().count(k)) proxies.push_back(k + "=" + v);

    KeyBuilder key("run");
    key.add(state_.key).add(std::to_string(args.size()));
    for (const auto& a : args)
        key.add(a);
    key.add(join(env, "\n")).add(state_.config.config.user).add(state_.config.config.working_dir);
    key.add(network);
    if (script) key.add(script->second);

    // Secrets are found now (a missing required one fails before anything runs).
    std::vector<std::pair<RunMount, std::optional<std::string>>> secrets;
    for (const auto& m : mounts) {
        key.add(m.type).add(m.target).add(m.id).add(m.sharing).add(m.readonly ? "ro" : "rw");
        key.add(m.mode ? std::to_string(*m.mode) : "").add(m.uid ? std::to_string(*m.uid) : "");
        key.add(m.gid ? std::to_string(*m.gid) : "").add(m.env.value_or("")).add(m.source);
        key.add(std::to_string(m.size));
        if (m.type == "secret") {
            std::string id = m.id.empty() ? base_name(m.target) : m.id;
            std::optional<std::string> value;
            for (const auto& s : s_.options().secrets)
                if (s.id == id) {
                    if (!s.file.empty()) {
                        auto text = read_file_if_exists(s.file);
                        if (!text)
                            throw BuildError("secret " + id + ": " + s.file + ": no such file");
                        value = *text;
                    } else if (const char* v = std::getenv(s.env.c_str())) {
                        value = v;
                    }
                }
            if (!value && m.required)
                throw BuildError(location(cmd) + "secret " + id +
                                 " is required but was not given (--secret id=" + id +
                                 ",src=FILE)");
            secrets.emplace_back(m, value);
        } else if (m.type == "ssh") {
            std::string sock = s_.options().ssh;
            if (sock.empty() || sock == "default")
                sock = std::getenv("SSH_AUTH_SOCK") ? std::getenv("SSH_AUTH_SOCK") : "";
            if (sock.empty() || ::access(sock.c_str(), F_OK) != 0)
                throw BuildError(location(cmd) +
                                 "--mount=type=ssh: no SSH agent (start one and give --ssh "
                                 "default with SSH_AUTH_SOCK set)");
        } else if (m.type == "bind" || (m.type == "cache" && !m.from.empty())) {
            if (m.type == "cache")
                throw BuildError(location(cmd) + "--mount=type=cache,from= is not supported");
            // The bound content is part of the key.
            if (m.from.empty()) {
                if (!s_.context().has_files())
                    throw BuildError(location(cmd) + "--mount=type=bind: no build context");
                KeyBuilder tree("bind-context");
                std::string src = m.source.empty() ? "" : clean_path("/" + m.source).substr(1);
                walk_source(s_.context().source_root(), src, {}, [&](const SourceVisit& v) {
                    tree.add(v.rel).add(std::to_string(v.st->st_mode));
                    if (S_ISREG(v.st->st_mode))
                        tree.add(s_.context().hasher().file_digest(v.dir_fd, v.name,
                                                                   src + "/" + v.rel, *v.st));
                    tree.add(v.link_target);
                });
                key.add(tree.finish());
            } else if (auto stage = s_.find_stage(m.from)) {
                key.add(s_.stage_result(*stage).key);
            } else {
                key.add("image:" + m.from);
            }
        }
    }
    std::string history = "RUN ";
    if (!args_.empty()) {
        history += "|" + std::to_string(args_.size());
        for (const auto& [k, v] : args_)
            history += " " + k + "=" + env_.get(k).value_or(v.value_or(""));
        history += " ";
    }
    history += join(args, " ") + " # buildkit";
    for (const auto& [k, v] : args_)
        key.add(k).add(v.value_or(""));
    Digest step_key = key.finish();

    std::string shown = cmd.text;
    try {
        shown = ShellLex(s_.lexer().escape(),
                         {.raw_quotes = true, .raw_escapes = true, .skip_unset_env = true})
                    .process_word(cmd.text, env_);
    } catch (const ExpansionError&) {  // NOLINT(bugprone-empty-catch): shown as written
    }
    int vertex = begin_vertex(shown);
    if (try_cache(step_key, vertex, history)) return;

    try {
        StepRoot root = mount_step_root();
        std::string bundle = root.dir + "/bundle";
        if (::mkdir(bundle.c_str(), 0700) < 0) throw_errno("mkdir", bundle);
        std::vector<engine::OneShotMount> one_shot_mounts;
        std::vector<HeldLock> locks;
        std::vector<std::string> run_env = env;
        run_env.insert(run_env.end(), proxies.begin(), proxies.end());
        UniqueFd rootfs_fd = open_file(root.rootfs, O_RDONLY | O_DIRECTORY);
        // BuildKit's list (executor/stubs.go), and /etc/hostname, which it does not mount.
        std::vector<std::string> targets = {"/etc/hosts", "/etc/resolv.conf", "/etc/hostname"};
        if (script) {
            std::string dir = root.dir + "/pipes";
            if (::mkdir(dir.c_str(), 0755) < 0) throw_errno("mkdir", dir);
            write_file(dir + "/" + script->first, script->second, 0755);
            one_shot_mounts.push_back({"bind", dir, "/dev/pipes", true, ""});
        }
        size_t secret_index = 0;
        for (const auto& m : mounts) {
            std::string target = m.target;
            if (!target.empty() && !is_absolute_path(target)) {
                std::string wd = state_.config.config.working_dir.empty()
                                     ? "/"
                                     : state_.config.config.working_dir;
                target = join_path(wd, target);
            }
            if (m.type == "tmpfs") {
                std::string options;
                if (m.size > 0) options = "size=" + std::to_string(m.size);
                one_shot_mounts.push_back({"tmpfs", "", target, false, options});
            } else if (m.type == "cache") {
                std::string id = m.id.empty() ? target : m.id;
                std::string base = s_.root() + "/build/cache-mounts";
                ::mkdir((s_.root() + "/build").c_str(), 0700);
                ::mkdir(base.c_str(), 0700);
                std::string name = digest_of(id).hex().substr(0, 32);
                std::string dir = base + "/" + name;
                HeldLock lock{open_file(base + "/" + name + ".lock", O_RDWR | O_CREAT, 0600)};
                std::string source = dir;
                if (m.sharing == "locked") {
                    if (::flock(lock.fd.get(), LOCK_EX) < 0) throw_errno("lock", dir);
                } else if (m.sharing == "private") {
                    if (::flock(lock.fd.get(), LOCK_EX | LOCK_NB) < 0) {
                        // Another build holds it: this RUN gets a cache of its own.
                        source =
                            root.dir + "/private-cache-" + std::to_string(one_shot_mounts.size());
                    }
                } else if (::flock(lock.fd.get(), LOCK_SH) < 0) {
                    throw_errno("lock", dir);
                }
                if (::mkdir(source.c_str(), m.mode.value_or(0755)) == 0) {
                    ::chmod(source.c_str(), m.mode.value_or(0755));
                    if (::chown(source.c_str(), m.uid.value_or(0), m.gid.value_or(0)) < 0)
                        throw_errno("chown", source);
                } else if (errno != EEXIST) {
                    throw_errno("mkdir", source);
                }
                locks.push_back(std::move(lock));
                one_shot_mounts.push_back({"bind", source, target, m.readonly, ""});
            } else if (m.type == "secret") {
                const auto& value = secrets.at(secret_index++).second;
                if (!value) continue;
                std::string id = m.id.empty() ? base_name(m.target) : m.id;
                if (m.env) run_env.push_back(*m.env + "=" + *value);
                if (m.env && m.target.empty()) continue;
                if (target.empty()) target = "/run/secrets/" + id;
                std::string dir = root.dir + "/secrets";
                ::mkdir(dir.c_str(), 0700);
                std::string file = dir + "/" + std::to_string(secret_index);
                write_file(file, *value, m.mode.value_or(0400));
                ::chmod(file.c_str(), m.mode.value_or(0400));
                if (::chown(file.c_str(), m.uid.value_or(0), m.gid.value_or(0)) < 0)
                    throw_errno("chown", file);
                one_shot_mounts.push_back({"bind", file, target, true, ""});
            } else if (m.type == "ssh") {
                std::string sock = s_.options().ssh;
                if (sock.empty() || sock == "default") sock = std::getenv("SSH_AUTH_SOCK");
                if (target.empty()) target = "/run/buildkit/ssh_agent.0";
                run_env.push_back("SSH_AUTH_SOCK=" + target);
                one_shot_mounts.push_back({"bind", sock, target, false, ""});
            } else {  // bind
                std::string src = m.source.empty() ? "" : clean_path("/" + m.source).substr(1);
                std::string source;
                if (m.from.empty()) {
                    // The context as COPY sees it (ignored files left out): a copy, unless
                    // nothing is ignored and nothing may be written.
                    if (!m.readonly || !s_.context().ignore().empty()) {
                        source = root.dir + "/bind-" + std::to_string(one_shot_mounts.size());
                        if (::mkdir(source.c_str(), 0755) < 0) throw_errno("mkdir", source);
                        UniqueFd dest = open_file(source, O_RDONLY | O_DIRECTORY);
                        copy_source(s_.context().source_root(), src, dest.get(), "/", {});
                    } else {
                        UniqueFd fd = open_in_root(s_.context().source_root().fd, src, O_PATH);
                        // The path the kernel resolved (within the root), to bind.
                        std::error_code ec;
                        auto real = std::filesystem::read_symlink(fd_path(fd.get()), ec);
                        if (!ec) source = real.string();
                    }
                } else {
                    std::vector<LayerRef> layers;
                    std::string view_key;
                    if (auto stage = s_.find_stage(m.from)) {
                        layers = s_.stage_result(*stage).layers;
                        view_key = "stage:" + std::to_string(*stage);
                    } else {
                        bool pulled = false;
                        image::Image img = s_.resolve_image(m.from, vertex, &pulled);
                        for (size_t i = 0; i < img.manifest.layers.size(); ++i)
                            layers.push_back({img.config.diff_ids.at(i),
                                              img.manifest.layers[i].digest,
                                              img.manifest.layers[i].media_type,
                                              img.manifest.layers[i].size, img.chain.at(i)});
                        view_key = "image:" + img.record.id.str();
                    }
                    const std::string& view = s_.mounted_view(view_key, layers);
                    if (!m.readonly) {
                        source = root.dir + "/bind-" + std::to_string(one_shot_mounts.size());
                        if (::mkdir(source.c_str(), 0755) < 0) throw_errno("mkdir", source);
                        UniqueFd view_fd = open_file(view, O_PATH | O_DIRECTORY);
                        UniqueFd dest = open_file(source, O_RDONLY | O_DIRECTORY);
                        copy_source({view_fd.get(), false, nullptr}, src, dest.get(), "/", {});
                    } else {
                        UniqueFd view_fd = open_file(view, O_PATH | O_DIRECTORY);
                        UniqueFd fd = open_in_root(view_fd.get(), src, O_PATH);
                        // The path the kernel resolved (within the root), to bind.
                        std::error_code ec;
                        auto real = std::filesystem::read_symlink(fd_path(fd.get()), ec);
                        if (!ec) source = real.string();
                    }
                }
                if (source.empty())
                    throw BuildError(location(cmd) + "--mount=type=bind: source " + m.source +
                                     " not found");
                one_shot_mounts.push_back({"bind", source, target, m.readonly, ""});
            }
            if (!target.empty()) targets.push_back(target);
        }

        std::vector<MountStub> stubs;
        for (const auto& t : targets)
            if (auto stub = find_stub(rootfs_fd.get(), t)) stubs.push_back(*stub);
        rootfs_fd.reset();

        engine::OneShotOptions o;
        o.id = "build-" + s_.build_id().substr(0, 12) + "-" + std::to_string(vertex);
        o.rootfs = root.rootfs;
        o.bundle = bundle;
        o.image = &state_.config;
        o.args = args;
        o.env = run_env;
        o.mounts = one_shot_mounts;
        if (network == "none" || network == "host")
            o.network = network;
        else
            o.network = s_.sandbox_network();
        TailBuffer tail;
        int code = s_.env().engine.run_to_completion(
            o,
            [&](std::string_view text) {
                s_.progress().output(vertex, text);
                tail.add(text);
            },
            s_.cancel_flag());
        locks.clear();
        s_.check_canceled();
        if (code != 0) {
            std::string message =
                location(cmd) + "process \"" + join(args, " ") +
                "\" did not complete successfully: exit code: " + std::to_string(code);
            s_.progress().finished(vertex, message);
            s_.keep_cache_on_failure();
            throw RunFailed(message, code, tail.last_lines(6));
        }

        // Mount points the runtime made go again: the leaf through the overlay, then the
        // directories that only their copy-up put into the upper directory.
        UniqueFd merged = open_file(root.rootfs, O_RDONLY | O_DIRECTORY);
        for (const auto& stub : stubs) {
            std::string parent = parent_path(stub.missing);
            UniqueFd parent_fd = try_open_in_root(merged.get(), parent, O_PATH | O_DIRECTORY);
            if (parent_fd && is_stub_tree(parent_fd.get(), base_name(stub.missing)))
                remove_tree_at(parent_fd.get(), base_name(stub.missing));
        }
        merged.reset();
        root.mount.unmount();
        for (const auto& stub : stubs) {
            for (auto it = stub.ancestors.rbegin(); it != stub.ancestors.rend(); ++it) {
                std::string in_upper = root.upper + it->first;
                struct stat now {};
                if (::lstat(in_upper.c_str(), &now) < 0 || !S_ISDIR(now.st_mode)) break;
                UniqueFd d(::open(in_upper.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
                if (!d || !list_directory(d.get(), in_upper).empty()) break;
                char opaque[2] = {};
                if (::lgetxattr(in_upper.c_str(), "trusted.overlay.opaque", opaque, 1) > 0 ||
                    ::lgetxattr(in_upper.c_str(), "user.overlay.opaque", opaque, 1) > 0)
                    break;
                const struct stat& before = it->second;
                if ((now.st_mode & 07777) != (before.st_mode & 07777) ||
                    now.st_uid != before.st_uid || now.st_gid != before.st_gid)
                    break;
                if (::rmdir(in_upper.c_str()) < 0) break;
            }
        }
        std::optional<LayerRef> layer = commit_layer(root, step_key, history);
        push_layer(layer);
        state_.key = step_key;
        add_history(history, layer.has_value(),
                    layer ? std::optional<int64_t>(last_created_) : std::nullopt);
        s_.progress().finished(vertex, "");
    } catch (const RunFailed&) {
        throw;
    } catch (const std::exception& e) {
        s_.progress().finished(vertex, e.what());
        throw;
    }
}

}  // namespace berth::build
