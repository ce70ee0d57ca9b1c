// Pull and push progress for people: on a terminal one line per blob, redrawn in place with a
// bar; piped, one plain line per event (no bars); quiet, nothing.
#pragma once

#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "distribution/client/transfer_observer.hpp"

namespace berth::cli {

enum class ProgressMode { terminal, lines, quiet };

// terminal when stream is a tty, else lines; quiet when asked.
ProgressMode progress_mode(std::FILE* stream, bool quiet);

class ProgressPrinter : public distribution::TransferObserver {
  public:
    ProgressPrinter(std::FILE* stream, ProgressMode mode) : out_(stream), mode_(mode) {}
    ~ProgressPrinter() override;
    ProgressPrinter(const ProgressPrinter&) = delete;
    ProgressPrinter& operator=(const ProgressPrinter&) = delete;

    void status(const std::string& line) override;
    void begin(const Digest& blob, int64_t total, const std::string& action) override;
    void progress(const Digest& blob, int64_t done) override;
    void end(const Digest& blob, const std::string& outcome) override;
    // Leaves the terminal display as it is (called before printing results).
    void finish();

  private:
    struct Row {
        std::string text;
        int64_t done = 0;
        int64_t total = 0;
        std::string action;
        bool finished = false;
    };
    Row& row(const Digest& blob);
    void redraw(bool force);
    std::string render(const std::string& id, const Row& row) const;

    std::FILE* out_;
    ProgressMode mode_;
    std::mutex mutex_;
    std::vector<std::string> order_;
    std::map<std::string, Row> rows_;
    size_t drawn_ = 0;
    std::chrono::steady_clock::time_point last_draw_{};
};

std::string human_size(int64_t bytes);

}  // namespace berth::cli
