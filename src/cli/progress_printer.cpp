#include "cli/progress_printer.hpp"

#include <unistd.h>

#include <cmath>

namespace berth::cli {

ProgressMode progress_mode(std::FILE* stream, bool quiet) {
    if (quiet) return ProgressMode::quiet;
    return ::isatty(fileno(stream)) ? ProgressMode::terminal : ProgressMode::lines;
}

std::string human_size(int64_t bytes) {
    static const char* kUnits[] = {"B", "kB", "MB", "GB", "TB"};
    auto value = static_cast<double>(bytes);
    int unit = 0;
    while (value >= 1000 && unit < 4) {
        value /= 1000;
        ++unit;
    }
    char buf[32];
    if (unit == 0)
        std::snprintf(buf, sizeof buf, "%lldB", static_cast<long long>(bytes));
    else
        std::snprintf(buf, sizeof buf, "%.3g%s", value, kUnits[unit]);
    return buf;
}

ProgressPrinter::~ProgressPrinter() {
    finish();
}

ProgressPrinter::Row& ProgressPrinter::row(const Digest& blob) {
    std::string id = blob.short_hex();
    auto it = rows_.find(id);
    if (it == rows_.end()) {
        order_.push_back(id);
        it = rows_.emplace(id, Row{}).first;
    }
    return it->second;
}

std::string ProgressPrinter::render(const std::string& id, const Row& r) const {
    std::string line = id + ": ";
    if (r.finished) return line + r.text;
    line += r.action;
    if (r.total > 0) {
        constexpr int kWidth = 30;
        int filled = static_cast<int>(
            std::lround(kWidth * static_cast<double>(r.done) / static_cast<double>(r.total)));
        filled = std::min(std::max(filled, 0), kWidth);
        line += " [" + std::string(static_cast<size_t>(filled), '=') +
                (filled < kWidth ? ">" : "") +
                std::string(static_cast<size_t>(std::max(0, kWidth - filled - 1)), ' ') + "] " +
                human_size(r.done) + "/" + human_size(r.total);
    }
    return line;
}

void ProgressPrinter::redraw(bool force) {
    auto now = std::chrono::steady_clock::now();
    if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    std::string text;
    if (drawn_ > 0) text += "\x1b[" + std::to_string(drawn_) + "A";
    for (const auto& id : order_)
        text += "\r\x1b[2K" + render(id, rows_.at(id)) + "\n";
    drawn_ = order_.size();
    std::fwrite(text.data(), 1, text.size(), out_);
    std::fflush(out_);
}

void ProgressPrinter::status(const std::string& line) {
    if (mode_ == ProgressMode::quiet) return;
    std::lock_guard lock(mutex_);
    if (mode_ == ProgressMode::terminal && drawn_ > 0) {
        // Above the rows would be overwritten: print below and start a new block.
        drawn_ = 0;
        order_.clear();
        rows_.clear();
    }
    std::fprintf(out_, "%s\n", line.c_str());
    std::fflush(out_);
}

void ProgressPrinter::begin(const Digest& blob, int64_t total, const std::string& action) {
    if (mode_ == ProgressMode::quiet) return;
    std::lock_guard lock(mutex_);
    Row& r = row(blob);
    r.total = total;
    r.action = action;
    if (mode_ == ProgressMode::lines) {
        std::fprintf(out_, "%s: %s %s\n", blob.short_hex().c_str(), action.c_str(),
                     human_size(total).c_str());
        std::fflush(out_);
    } else {
        redraw(true);
    }
}

void ProgressPrinter::progress(const Digest& blob, int64_t done) {
    if (mode_ != ProgressMode::terminal) return;
    std::lock_guard lock(mutex_);
    row(blob).done = done;
    redraw(false);
}

void ProgressPrinter::end(const Digest& blob, const std::string& outcome) {
    if (mode_ == ProgressMode::quiet) return;
    std::lock_guard lock(mutex_);
    Row& r = row(blob);
    r.finished = true;
    r.text = outcome;
    if (mode_ == ProgressMode::lines) {
        std::fprintf(out_, "%s: %s\n", blob.short_hex().c_str(), outcome.c_str());
        std::fflush(out_);
    } else {
        redraw(true);
    }
}

void ProgressPrinter::finish() {
    if (mode_ != ProgressMode::terminal) return;
    std::lock_guard lock(mutex_);
    if (!order_.empty()) redraw(true);
    order_.clear();
    rows_.clear();
    drawn_ = 0;
}

}  // namespace berth::cli
