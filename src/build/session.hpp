// One build in progress (build.cpp): what its stages share — the environment and options,
// the parsed Containerfile and its stage plan, the context, the cache, a scratch directory
// under <root>/build/tmp, the sandbox network, the step counter for progress, and the record
// of what it added (so that a failed build takes it back). Internal to src/build.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "build/build.hpp"
#include "build/cache.hpp"
#include "build/context.hpp"
#include "build/parser/environment.hpp"
#include "build/parser/instructions.hpp"
#include "build/parser/shell_lex.hpp"
#include "engine/container/oneshot.hpp"
#include "image/rootfs.hpp"
#include "oci/image_config.hpp"
#include "oci/media_types.hpp"

namespace berth::build {

// The state of a stage after its last instruction: what an image made from it holds, and
// what the next step's key derives from.
struct StageResult {
    oci::ImageConfig config;
    std::vector<LayerRef> layers;
    Digest key;
    std::vector<std::string> onbuild;  // ONBUILD expressions of the stage (for FROM stage)
    std::string base_name;             // the base image's reference ("" for scratch)
    Digest base_manifest;              // and its manifest digest (provenance)
};

struct PlannedStage {
    size_t index = 0;
    const Stage* stage = nullptr;
    std::string display_name;  // "build" or "stage-2"
    std::string base;          // FROM, expanded with the global ARGs
    std::optional<size_t> base_stage;
    std::set<size_t> deps;  // stages it needs (base, COPY --from, RUN --mount from)
    bool needed = false;
    bool no_cache = false;
    int steps_total = 0;  // for "[name N/M]"
};

// An entry of an imported cache (--cache-from): fetch brings its layer blob into the store.
struct RemoteCacheEntry {
    CacheEntry entry;
    std::function<void()> fetch;
};

// A read-only view of another stage's (or an image's) root filesystem, mounted once per build.
struct MountedView {
    std::string path;
    image::RootfsMount mount;
};

class Session {
  public:
    Session(const BuildEnvironment& env, const BuildOptions& options, Progress& progress,
            const std::atomic<bool>* cancel);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    BuildResult run();

    // --- used by the stage executor and the steps ---
    const BuildEnvironment& env() const { return env_; }
    const BuildOptions& options() const { return options_; }
    Progress& progress() { return progress_; }
    BuildCache& cache() { return *cache_; }
    BuildContext& context() { return *context_; }
    const Containerfile& containerfile() const { return containerfile_; }
    const Environment& global_args() const { return global_args_; }
    const ShellLex& lexer() const { return lexer_; }
    std::recursive_mutex& db_mutex() { return cache_->mutex(); }

    // Throws when the user canceled the build or another stage failed.
    void check_canceled() const;
    bool user_canceled() const { return cancel_ && cancel_->load(); }
    // Set once containers must stop (the user canceled, a stage failed): for the engine.
    const std::atomic<bool>* cancel_flag() const { return &stop_; }
    int next_step_id() { return ++step_counter_; }
    // A new directory below the build's scratch directory (same filesystem as the root).
    std::string make_scratch_dir(const std::string& prefix);
    std::string root() const;
    std::optional<int64_t> source_date_epoch() const { return epoch_; }
    oci::Compression compression() const { return compression_; }
    std::string build_id() const { return id_; }

    // The result of stage i, waiting for it (its failure is rethrown).
    const StageResult& stage_result(size_t index);
    // A stage by name or index ("0", "builder"), if the Containerfile has one.
    std::optional<size_t> find_stage(const std::string& name) const;
    const PlannedStage& planned(size_t i) const { return plan_[i]; }
    // An image by reference: found, or pulled as --pull says. progress_id: its vertex.
    image::Image resolve_image(const std::string& reference, int progress_id, bool* pulled);
    // A read-only mount of a chain of layers (a stage's, an image's), kept for the build.
    const std::string& mounted_view(const std::string& key, const std::vector<LayerRef>& layers);
    // Snapshots of these layers exist (unpacked from their blobs when missing).
    void ensure_snapshots(const std::vector<LayerRef>& layers);
    // The network namespace for RUN --network=default (made on first use).
    std::string sandbox_network();

    // The cache: the local index, else an imported entry (its blob fetched now); the bool
    // says it was imported (the caller records it locally once its chain is known).
    std::optional<std::pair<CacheEntry, bool>> lookup_cache(const Digest& key);
    void add_remote_cache(std::vector<RemoteCacheEntry> entries);
    // The entries this build's steps used or made, for --cache-to.
    void used_cache_entry(const CacheEntry& entry, size_t stage);
    std::vector<CacheEntry> used_cache_entries(bool only_target);

    // What the build added, taken back if it fails.
    void added_cache_entry(const Digest& key);
    void added_blob(const Digest& blob);
    void added_snapshot(const Digest& chain);
    void keep_cache_on_failure() { keep_cache_ = true; }

    std::atomic<int> steps{0};
    std::atomic<int> cached_steps{0};

  private:
    void plan();
    void run_stage(size_t index);
    void rollback() noexcept;
    void cleanup() noexcept;
    void remove_stale_builds() noexcept;

    const BuildEnvironment& env_;
    const BuildOptions& options_;
    Progress& progress_;
    const std::atomic<bool>* cancel_;
    std::string id_;
    std::string scratch_;
    std::unique_ptr<BuildCache> cache_;
    std::unique_ptr<BuildContext> context_;
    Containerfile containerfile_;
    ShellLex lexer_;
    Environment global_args_;
    std::vector<PlannedStage> plan_;
    size_t target_ = 0;
    std::optional<int64_t> epoch_;
    oci::Compression compression_ = oci::Compression::gzip;
    std::atomic<int> step_counter_{0};
    std::atomic<int> scratch_counter_{0};

    std::mutex results_mutex_;
    std::condition_variable results_changed_;
    std::map<size_t, StageResult> results_;
    std::map<size_t, std::exception_ptr> failures_;

    std::mutex views_mutex_;
    std::map<std::string, std::unique_ptr<MountedView>> views_;
    std::mutex images_mutex_;
    std::mutex network_mutex_;
    std::optional<engine::SandboxNetwork> network_;

    std::mutex remote_mutex_;
    std::map<Digest, RemoteCacheEntry> remote_;
    std::vector<std::pair<CacheEntry, size_t>> used_;

    std::atomic<bool> failed_{false};
    std::atomic<bool> stop_{false};
    std::atomic<bool> done_{false};
    std::exception_ptr first_failure_;
    std::thread watcher_;  // turns the caller's cancel flag into stop_

    std::mutex added_mutex_;
    std::vector<Digest> added_keys_, added_blobs_, added_snapshots_;
    bool keep_cache_ = false;
    image::FileLock writer_lock_;
};

}  // namespace berth::build
