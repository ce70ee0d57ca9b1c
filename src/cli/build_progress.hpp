// BuildKit's two progress views of a build, for `berth build`: on a terminal a live view of
// the steps (redrawn ten times a second: running steps with their timers and last output
// lines, CACHED marks, DONE times), and plain text for logs and CI ("#5 [2/3] RUN make",
// "#5 0.315 output", "#5 DONE 1.2s"); quiet shows nothing.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "build/progress.hpp"

namespace berth::cli {

class BuildProgressView : public build::Progress {
  public:
    enum class Mode { tty, plain, quiet };
    // "auto": tty when stream is a terminal, else plain.
    static Mode mode_for(const std::string& progress, std::FILE* stream, bool quiet);

    BuildProgressView(std::FILE* stream, Mode mode);
    ~BuildProgressView() override;
    BuildProgressView(const BuildProgressView&) = delete;
    BuildProgressView& operator=(const BuildProgressView&) = delete;

    void started(int id, const std::string& name) override;
    void output(int id, std::string_view text) override;
    void cached(int id) override;
    void finished(int id, const std::string& error) override;
    void notice(const std::string& text) override;
    // The last view (tty), before results are printed.
    void finish();

  private:
    using Clock = std::chrono::steady_clock;
    struct Step {
        std::string name;
        Clock::time_point start, end;
        bool done = false, cached = false;
        std::string error;
        std::vector<std::string> lines;  // complete output lines
        std::string partial;
    };
    void redraw_locked(bool final);
    void ticker();

    std::FILE* out_;
    Mode mode_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::map<int, Step> steps_;
    std::vector<std::string> notices_;
    Clock::time_point start_ = Clock::now();
    size_t drawn_ = 0;
    bool stopping_ = false;
    bool finished_ = false;
    std::thread thread_;
};

}  // namespace berth::cli
