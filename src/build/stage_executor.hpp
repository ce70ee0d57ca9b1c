// One stage, instruction by instruction: each command's words expanded (BuildKit's rules
// for each instruction), its cache key derived from the previous one, and then either its
// cached result reused or the step run: RUN in a one-shot container over an overlay of the
// stage's layers, COPY/ADD into such an overlay, and the configuration instructions applied
// to the image config. A step's layer is its overlay's upper directory (layers.cpp).
// Internal to src/build.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "build/session.hpp"

namespace berth::build {

class StageExecutor {
  public:
    StageExecutor(Session& session, const PlannedStage& stage);
    StageResult run();

  private:
    // Instructions (stage_executor.cpp, run_step.cpp, copy_step.cpp).
    void dispatch(const Command& cmd, bool from_onbuild);
    void do_run(const Command& cmd, const RunCommand& run);
    void do_copy(const Command& cmd, const CopyCommand& copy);
    void do_workdir(const Command& cmd, const WorkdirCommand& w);
    void do_arg(const Command& cmd, const ArgCommand& a);
    void start_from_base();

    // Expansion with the stage's variables; errors name the instruction.
    std::string expand(const std::string& word, const Command& cmd) const;
    std::vector<std::string> shell_words(const std::vector<std::string>& line_args) const;

    // Keys and the cache.
    [[nodiscard]] bool cache_enabled() const;
    // The cached result of key, applied to the state (true), or nothing (false).
    bool try_cache(const Digest& key, int step, const std::string& history);
    // created: when the step's layer was made (its cache entry's time), so that a cached
    // rebuild writes the same config; metadata steps get theirs in image_output.cpp.
    void add_history(const std::string& created_by, bool layer,
                     std::optional<int64_t> created = std::nullopt);

    // Layers (layers.cpp).
    // Unmounted and removed (but for an upper directory that became a snapshot) when
    // destroyed.
    struct StepRoot {
        std::string dir, upper, work, rootfs, empty;
        image::RootfsMount mount;
        StepRoot() = default;
        StepRoot(StepRoot&&) = default;
        StepRoot& operator=(StepRoot&&) = default;
        StepRoot(const StepRoot&) = delete;
        StepRoot& operator=(const StepRoot&) = delete;
        ~StepRoot();
    };
    StepRoot mount_step_root(bool writable_over_layers = true);
    // The upper directory as the step's layer (nullopt when it changed nothing), recorded
    // in the cache under key.
    std::optional<LayerRef> commit_layer(StepRoot& root, const Digest& key,
                                         const std::string& description);
    void push_layer(const std::optional<LayerRef>& layer);

    // Progress: a vertex "[name N/M] text".
    int begin_vertex(const std::string& text);
    std::string vertex_name(const std::string& text);
    std::string location(const Command& cmd) const;

    Session& s_;
    const PlannedStage& p_;
    StageResult state_;
    Environment env_;  // expansion and RUN environment: the image's Env, ENV, ARG values
    std::vector<std::pair<std::string, std::optional<std::string>>> args_;  // ARGs in scope
    bool cmd_set_ = false;
    bool no_cache_ = false;
    int vertex_index_ = 0;
    int64_t last_created_ = 0;  // commit_layer's entry time
};

}  // namespace berth::build
