#include "build/session.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <sstream>
#include <thread>

#include "build/image_output.hpp"
#include "build/remote_cache.hpp"
#include "build/stage_executor.hpp"
#include "common/error.hpp"
#include "common/file.hpp"
#include "common/log.hpp"
#include "common/path.hpp"
#include "common/remove_tree.hpp"
#include "common/strings.hpp"
#include "distribution/client/pull.hpp"
#include "distribution/client/registry.hpp"
#include "engine/engine.hpp"
#include "engine/process_identity.hpp"
#include "engine/subprocess.hpp"
#include "image/gc.hpp"
#include "image/layer_unpack.hpp"
#include "image/platform.hpp"
#include "image/reference.hpp"

namespace berth::build {
namespace {

std::string random_id() {
    std::random_device rd;
    std::mt19937_64 rng(rd());
    char buffer[33];
    std::snprintf(buffer, sizeof buffer, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                  static_cast<unsigned long long>(rng()));
    return buffer;
}

std::string lower_name(std::string s) {
    for (char& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// The mount points below dir, deepest first (from /proc/self/mountinfo).
std::vector<std::string> mounts_below(const std::string& dir) {
    std::vector<std::string> out;
    auto text = read_file_if_exists("/proc/self/mountinfo").value_or("");
    for (const auto& line : split(text, '\n')) {
        std::vector<std::string> f = split(line, ' ');
        if (f.size() < 5) continue;
        std::string point = f[4];
        if (point == dir || point.starts_with(dir + "/")) out.push_back(point);
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.size() > b.size(); });
    return out;
}

}  // namespace

Session::Session(const BuildEnvironment& env, const BuildOptions& options, Progress& progress,
                 const std::atomic<bool>* cancel)
    : env_(env), options_(options), progress_(progress), cancel_(cancel), id_(random_id()) {}

Session::~Session() {
    cleanup();
}

std::string Session::root() const {
    return env_.images.root();
}

void Session::check_canceled() const {
    if (user_canceled()) throw Error("build canceled");
    if (failed_.load()) throw Error("build canceled: another stage failed");
}

std::string Session::make_scratch_dir(const std::string& prefix) {
    std::string dir = scratch_ + "/" + prefix + "-" + std::to_string(++scratch_counter_);
    if (::mkdir(dir.c_str(), 0700) < 0) throw_errno("mkdir", dir);
    return dir;
}

void Session::added_cache_entry(const Digest& key) {
    std::lock_guard lock(added_mutex_);
    added_keys_.push_back(key);
}
void Session::added_blob(const Digest& blob) {
    std::lock_guard lock(added_mutex_);
    added_blobs_.push_back(blob);
}
void Session::added_snapshot(const Digest& chain) {
    std::lock_guard lock(added_mutex_);
    added_snapshots_.push_back(chain);
}

std::optional<std::pair<CacheEntry, bool>> Session::lookup_cache(const Digest& key) {
    if (auto local = cache_->lookup(key)) {
        if (!local->layer || env_.images.store().has(local->layer->blob) ||
            env_.images.snapshots().has(local->layer->chain))
            return std::make_pair(*local, false);
    }
    std::function<void()> fetch;
    CacheEntry entry;
    {
        std::lock_guard lock(remote_mutex_);
        auto it = remote_.find(key);
        if (it == remote_.end()) return std::nullopt;
        entry = it->second.entry;
        fetch = it->second.fetch;
    }
    if (entry.layer && fetch) {
        try {
            fetch();
        } catch (const std::exception& e) {
            progress_.notice("[Warning] cache layer " + entry.layer->blob.str() + ": " + e.what());
            return std::nullopt;
        }
        added_blob(entry.layer->blob);
    }
    return std::make_pair(entry, true);
}

void Session::add_remote_cache(std::vector<RemoteCacheEntry> entries) {
    std::lock_guard lock(remote_mutex_);
    for (auto& e : entries) {
        Digest key = e.entry.key;
        remote_.emplace(key, std::move(e));
    }
}

void Session::used_cache_entry(const CacheEntry& entry, size_t stage) {
    std::lock_guard lock(remote_mutex_);
    used_.emplace_back(entry, stage);
}

std::vector<CacheEntry> Session::used_cache_entries(bool only_target) {
    std::lock_guard lock(remote_mutex_);
    std::vector<CacheEntry> out;
    for (const auto& [e, stage] : used_)
        if (!only_target || stage == target_) out.push_back(e);
    return out;
}

std::optional<size_t> Session::find_stage(const std::string& name) const {
    if (auto index = parse_uint64(name)) {
        if (*index < containerfile_.stages.size()) return static_cast<size_t>(*index);
        return std::nullopt;
    }
    std::string wanted = lower_name(name);
    for (size_t i = 0; i < containerfile_.stages.size(); ++i)
        if (!containerfile_.stages[i].name.empty() && containerfile_.stages[i].name == wanted)
            return i;
    return std::nullopt;
}

const StageResult& Session::stage_result(size_t index) {
    std::unique_lock lock(results_mutex_);
    results_changed_.wait(lock, [&] {
        return results_.count(index) || failures_.count(index) || failed_.load() || user_canceled();
    });
    if (auto it = results_.find(index); it != results_.end()) return it->second;
    if (auto it = failures_.find(index); it != failures_.end()) std::rethrow_exception(it->second);
    check_canceled();
    throw Error("stage " + std::to_string(index) + " did not run");
}

void Session::ensure_snapshots(const std::vector<LayerRef>& layers) {
    image::Images& images = env_.images;
    std::optional<Digest> parent;
    for (const auto& l : layers) {
        if (!images.snapshots().has(l.chain)) {
            if (!images.store().has(l.blob))
                throw Error("layer " + l.blob.str() + " is missing from the store");
            bool made = images.snapshots().create(l.chain, [&](int fs_fd) {
                UniqueFd blob = images.store().open(l.blob);
                image::FdSource source(blob.get(), images.store().path(l.blob));
                image::UnpackResult r =
                    image::unpack_layer(source, fs_fd, image::WhiteoutMode::overlay, l.diff_id,
                                        "layer " + l.blob.str());
                image::SnapshotInfo info;
                info.chain_id = l.chain;
                info.parent = parent;
                info.diff_id = r.diff_id;
                info.blob = l.blob;
                info.size = r.size;
                info.entries = static_cast<int64_t>(r.stats.entries);
                return info;
            });
            if (made) added_snapshot(l.chain);
        }
        parent = l.chain;
    }
}

const std::string& Session::mounted_view(const std::string& key,
                                         const std::vector<LayerRef>& layers) {
    std::lock_guard lock(views_mutex_);
    auto it = views_.find(key);
    if (it != views_.end()) return it->second->path;
    auto view = std::make_unique<MountedView>();
    std::string dir = make_scratch_dir("view");
    view->path = dir + "/rootfs";
    if (::mkdir(view->path.c_str(), 0755) < 0) throw_errno("mkdir", view->path);
    if (!layers.empty()) {
        ensure_snapshots(layers);
        std::vector<Digest> chains;
        chains.reserve(layers.size());
        for (const auto& l : layers)
            chains.push_back(l.chain);
        view->mount =
            image::mount_snapshots(env_.images, chains, view->path, "", "", dir + "/empty");
    }
    return views_.emplace(key, std::move(view)).first->second->path;
}

std::string Session::sandbox_network() {
    std::lock_guard lock(network_mutex_);
    if (!network_) {
        std::lock_guard db(db_mutex());  // the networks table
        network_ = env_.engine.create_sandbox_network("build-" + id_.substr(0, 12));
        if (!network_->netns.empty()) {
            // For the next build's cleanup, should this one be killed.
            nlohmann::json j = {{"id", network_->id},
                                {"netns", network_->netns},
                                {"network", network_->network.name},
                                {"attachment", engine::to_json(network_->attachment)}};
            write_file(scratch_ + "/network.json", j.dump());
        }
    }
    return network_->netns.empty() ? "host" : network_->netns;
}

image::Image Session::resolve_image(const std::string& reference, int progress_id, bool* pulled) {
    std::lock_guard lock(images_mutex_);
    image::Images& images = env_.images;
    *pulled = false;
    auto pull = [&] {
        if (!env_.registry) throw Error("no registry access to pull " + reference);
        image::Reference ref = env_.settings.resolve(reference);
        if (ref.tag.empty() && !ref.digest) ref.tag = "latest";
        auto registry = env_.registry(ref.registry);
        distribution::PullOptions o;
        o.platform = image::host_platform();
        o.max_concurrent = env_.settings.max_concurrent_downloads;
        if (progress_id) progress_.output(progress_id, "pulling " + ref.str() + "\n");
        distribution::PullResult r;
        {
            std::lock_guard db(db_mutex());
            r = env_.pull ? env_.pull(images, *registry, ref, o)
                          : distribution::pull_image(images, *registry, ref, o);
        }
        *pulled = !r.up_to_date;
    };
    if (options_.pull == "always") pull();
    std::optional<image::ImageRecord> record;
    {
        std::lock_guard db(db_mutex());
        record = images.try_find(reference, env_.settings);
    }
    if (!record && options_.pull == "missing") {
        pull();
        std::lock_guard db(db_mutex());
        record = images.try_find(reference, env_.settings);
    }
    if (!record)
        throw Error(reference + ": no such image here" +
                    (options_.pull == "never" ? " (and --pull never)" : ""));
    image::Image img = images.load(*record);
    oci::Platform host = image::host_platform();
    oci::Platform have{img.config.architecture, img.config.os, "", {}, img.config.variant};
    if (!image::platform_matches(host, have))
        throw Error(reference + " is an image for " + image::to_string(have) + "; only " +
                    image::to_string(host) + " images build here (no emulation)");
    std::lock_guard db(db_mutex());
    for (size_t i = 0; i < img.manifest.layers.size(); ++i)
        images.ensure_snapshot(img, i);
    return img;
}

void Session::plan() {
    const auto& stages = containerfile_.stages;
    oci::Platform host = image::host_platform();
    if (!options_.platform.empty()) {
        oci::Platform want = image::parse_platform_spec(options_.platform);
        if (!image::platform_matches(want, host))
            throw BuildError("--platform " + options_.platform + ": only " +
                             image::to_string(host) + " builds here (no emulation)");
    }
    std::string platform = image::to_string(host);
    for (const auto& [k, v] :
         std::vector<std::pair<std::string, std::string>>{{"BUILDPLATFORM", platform},
                                                          {"BUILDOS", host.os},
                                                          {"BUILDARCH", host.architecture},
                                                          {"BUILDVARIANT", host.variant},
                                                          {"TARGETPLATFORM", platform},
                                                          {"TARGETOS", host.os},
                                                          {"TARGETARCH", host.architecture},
                                                          {"TARGETVARIANT", host.variant}})
        global_args_.set(k, v);
    std::set<std::string> declared;
    for (const auto& cmd : containerfile_.meta_args) {
        for (const auto& def : std::get<ArgCommand>(cmd.body).args) {
            declared.insert(def.key);
            std::optional<std::string> given;
            for (const auto& [k, v] : options_.build_args)
                if (k == def.key) given = v;
            if (given) {
                global_args_.set(def.key, *given);
            } else if (def.value) {
                try {
                    global_args_.set(def.key, lexer_.process_word(*def.value, global_args_));
                } catch (const ExpansionError& e) {
                    throw BuildError(containerfile_.file + ":" + std::to_string(cmd.line) +
                                     ": ARG: " + e.what());
                }
            }
        }
    }
    std::map<std::string, size_t> by_name;
    for (size_t i = 0; i < stages.size(); ++i) {
        const Stage& st = stages[i];
        PlannedStage p;
        p.index = i;
        p.stage = &st;
        std::string where = containerfile_.file + ":" + std::to_string(st.line) + ": FROM: ";
        try {
            p.base = lexer_.process_word(st.base, global_args_);
        } catch (const ExpansionError& e) {
            throw BuildError(where + e.what());
        }
        if (p.base.empty())
            throw BuildError(where + "base name (" + st.base + ") should not be blank");
        if (!st.platform.empty()) {
            std::string plat = lexer_.process_word(st.platform, global_args_);
            if (plat.empty() || !image::platform_matches(image::parse_platform_spec(plat), host))
                throw BuildError(where + "--platform=" + plat + ": only " + platform +
                                 " builds here (no emulation)");
        }
        if (auto it = by_name.find(lower_name(p.base)); it != by_name.end()) {
            p.base_stage = it->second;
            p.deps.insert(it->second);
        }
        p.display_name =
            stages.size() == 1 ? "" : (st.name.empty() ? "stage-" + std::to_string(i) : st.name);
        p.steps_total = (p.base_stage || p.base == "scratch") ? 0 : 1;
        for (const auto& cmd : st.commands) {
            std::string k = cmd.keyword;
            if (k == "RUN" || k == "COPY" || k == "ADD" || k == "WORKDIR") ++p.steps_total;
            auto depend = [&](const std::string& from, const std::string& what) {
                if (from.empty()) return;
                auto index = find_stage(from);
                if (!index) return;  // an image
                if (*index >= i)
                    throw BuildError(containerfile_.file + ":" + std::to_string(cmd.line) + ": " +
                                     cmd.keyword + ": " + what + "=" + from +
                                     ": the stage must be defined before this one");
                p.deps.insert(*index);
            };
            if (const auto* copy = std::get_if<CopyCommand>(&cmd.body))
                depend(copy->from, "--from");
            if (const auto* run = std::get_if<RunCommand>(&cmd.body))
                for (const auto& spec : run->mounts)
                    if (spec.find('$') == std::string::npos)
                        depend(parse_run_mount(spec).from, "--mount from");
            if (const auto* arg = std::get_if<ArgCommand>(&cmd.body))
                for (const auto& def : arg->args)
                    declared.insert(def.key);
        }
        for (const auto& f : options_.no_cache_filter)
            if (lower_name(f) == st.name || f == std::to_string(i)) p.no_cache = true;
        if (!st.name.empty()) by_name[st.name] = i;
        plan_.push_back(std::move(p));
    }
    if (options_.target.empty()) {
        target_ = plan_.size() - 1;
    } else {
        auto t = find_stage(options_.target);
        if (!t || parse_uint64(options_.target))
            throw BuildError("target stage \"" + options_.target + "\" could not be found");
        target_ = *t;
    }
    std::vector<size_t> todo = {target_};
    while (!todo.empty()) {
        size_t i = todo.back();
        todo.pop_back();
        if (plan_[i].needed) continue;
        plan_[i].needed = true;
        for (size_t d : plan_[i].deps)
            todo.push_back(d);
    }
    std::vector<std::string> unused;
    static const std::set<std::string> implicit = {
        "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",        "ftp_proxy",
        "NO_PROXY",   "no_proxy",   "ALL_PROXY",   "all_proxy",   "SOURCE_DATE_EPOCH"};
    for (const auto& [k, v] : options_.build_args)
        if (!declared.count(k) && !implicit.count(k)) unused.push_back(k);
    if (!unused.empty())
        progress_.notice("[Warning] One or more build-args [" + join(unused, " ") +
                         "] were not consumed");
}

void Session::run_stage(size_t index) {
    try {
        StageExecutor executor(*this, plan_[index]);
        StageResult result = executor.run();
        std::lock_guard lock(results_mutex_);
        results_.emplace(index, std::move(result));
    } catch (...) {
        std::lock_guard lock(results_mutex_);
        failures_.emplace(index, std::current_exception());
        bool genuine = !user_canceled() && !failed_.load();
        if (genuine && !first_failure_) first_failure_ = std::current_exception();
        failed_ = true;
        stop_ = true;  // the other stages' containers stop too
    }
    results_changed_.notify_all();
}

void Session::remove_stale_builds() noexcept {
    try {
        std::string tmp = root() + "/build/tmp";
        UniqueFd dir(::open(tmp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!dir) return;
        for (const auto& name : list_directory(dir.get(), tmp)) {
            std::string path = tmp + "/" + name;
            auto owner = read_file_if_exists(path + "/owner");
            if (owner) {
                std::istringstream in(*owner);
                int64_t pid = 0;
                int64_t start = 0;
                in >> pid >> start;
                if (pid > 0 && engine::process_alive(pid, start)) continue;
            }
            // A build that was killed: its containers, mounts and network go now.
            std::string runtime = engine::helper_program("berth-runtime");
            std::string state = env_.engine.paths().runtime_state;
            if (UniqueFd states(::open(state.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)); states)
                for (const auto& c : list_directory(states.get(), state))
                    if (c.starts_with("build-" + name.substr(0, 12)))
                        engine::run_subprocess({runtime, "--root", state, "delete", "--force", c});
            for (const auto& point : mounts_below(path))
                ::umount2(point.c_str(), MNT_DETACH);
            if (auto net = read_file_if_exists(path + "/network.json")) {
                try {
                    auto j = nlohmann::json::parse(*net);
                    engine::SandboxNetwork s;
                    s.id = j.value("id", "");
                    s.netns = j.value("netns", "");
                    s.network = env_.engine.networks().get(j.value("network", "bridge"));
                    s.attachment = engine::attachment_from_json(
                        j.value("attachment", nlohmann::json::object()));
                    env_.engine.remove_sandbox_network(s);
                } catch (const std::exception& e) {
                    log::warn("build " + name + ": network: " + e.what());
                }
            }
            remove_tree(path);
        }
    } catch (const std::exception& e) {
        log::warn(std::string("leftovers of earlier builds: ") + e.what());
    }
}

void Session::rollback() noexcept {
    try {
        std::lock_guard lock(added_mutex_);
        if (!keep_cache_ || user_canceled()) {
            for (const auto& key : added_keys_)
                cache_->remove(key);
        }
        std::lock_guard db(db_mutex());
        image::discard_unreferenced_snapshots(env_.images, added_snapshots_);
        image::discard_unreferenced_blobs(env_.images, added_blobs_);
    } catch (const std::exception& e) {
        log::warn(std::string("build: taking back what the failed build made: ") + e.what());
    }
}

void Session::cleanup() noexcept {
    done_ = true;
    if (watcher_.joinable()) watcher_.join();
    {
        std::lock_guard lock(views_mutex_);
        views_.clear();  // unmounts
    }
    if (network_) {
        try {
            std::lock_guard db(db_mutex());
            env_.engine.remove_sandbox_network(*network_);
        } catch (const std::exception& e) {
            log::warn(std::string("build network: ") + e.what());
        }
        network_.reset();
    }
    if (!scratch_.empty()) {
        for (const auto& point : mounts_below(scratch_))
            ::umount2(point.c_str(), MNT_DETACH);
        try {
            remove_tree(scratch_);
        } catch (const std::exception& e) {
            log::warn("build scratch " + scratch_ + ": " + e.what());
        }
        scratch_.clear();
    }
}

BuildResult Session::run() {
    // The scratch directory first (with its owner, for the next build's leftover check).
    std::string tmp = root() + "/build/tmp";
    ::mkdir((root() + "/build").c_str(), 0700);
    ::mkdir(tmp.c_str(), 0700);
    remove_stale_builds();
    scratch_ = tmp + "/" + id_;
    if (::mkdir(scratch_.c_str(), 0700) < 0) throw_errno("mkdir", scratch_);
    write_file(scratch_ + "/owner", std::to_string(::getpid()) + " " +
                                        std::to_string(engine::process_start_time(::getpid())) +
                                        "\n");
    if (cancel_)
        watcher_ = std::thread([this] {
            while (!done_.load()) {
                if (cancel_->load()) stop_ = true;
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
        });
    writer_lock_ = env_.images.writer_lock();
    cache_ = std::make_unique<BuildCache>(env_.images);

    BuildResult result;
    try {
        int def = next_step_id();
        context_ = std::make_unique<BuildContext>(options_, scratch_, root() + "/build", env_.http);
        progress_.started(
            def, "[internal] load build definition from " + context_->containerfile_name());
        try {
            containerfile_ =
                parse_containerfile(context_->containerfile_text(), context_->containerfile_name());
        } catch (const std::exception& e) {
            progress_.finished(def, e.what());
            throw BuildError(e.what());
        }
        progress_.finished(def, "");
        if (!containerfile_.syntax.empty())
            progress_.notice("# syntax=" + containerfile_.syntax +
                             " is ignored: berth reads the Containerfile itself (BuildKit's "
                             "Dockerfile syntax, every instruction of dockerfile:1)");
        for (const auto& w : containerfile_.warnings)
            progress_.notice("[Warning] " + w);
        if (!context_->ignore_file().empty()) {
            int ign = next_step_id();
            progress_.started(ign, "[internal] load " + base_name(context_->ignore_file()));
            progress_.finished(ign, "");
        }
        lexer_ = ShellLex(containerfile_.escape);
        for (const auto& [k, v] : options_.build_args)
            if (k == "SOURCE_DATE_EPOCH") epoch_ = parse_int64(v);
        if (options_.source_date_epoch) epoch_ = options_.source_date_epoch;
        if (options_.compression == "zstd")
            compression_ = oci::Compression::zstd;
        else if (options_.compression == "gzip")
            compression_ = oci::Compression::gzip;
        else
            throw BuildError("--compression " + options_.compression + ": expected gzip or zstd");
        plan();
        import_remote_cache(*this);

        std::vector<std::thread> threads;
        for (size_t i = 0; i < plan_.size(); ++i)
            if (plan_[i].needed) threads.emplace_back([this, i] { run_stage(i); });
        for (auto& t : threads)
            t.join();
        if (first_failure_) std::rethrow_exception(first_failure_);
        if (user_canceled()) throw Error("build canceled");
        for (const auto& [i, failure] : failures_)
            std::rethrow_exception(failure);
        const StageResult& target = results_.at(target_);
        export_remote_cache(*this, target);
        result = write_outputs(*this, target);
        context_->hasher().save();
        result.steps = steps.load();
        result.cached_steps = cached_steps.load();
    } catch (...) {
        done_ = true;
        rollback();
        cleanup();
        throw;
    }
    cleanup();
    return result;
}

}  // namespace berth::build
