#include "cli/build_progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>

namespace berth::cli {
namespace {

std::string elapsed_text(std::chrono::steady_clock::duration d, int decimals = 1) {
    double s = std::chrono::duration<double>(d).count();
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, s);
    return buffer;
}

size_t terminal_width(std::FILE* stream) {
    winsize ws{};
    if (::ioctl(::fileno(stream), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) return ws.ws_col;
    return 80;
}

}  // namespace

BuildProgressView::Mode BuildProgressView::mode_for(const std::string& progress, std::FILE* stream,
                                                    bool quiet) {
    if (quiet || progress == "quiet") return Mode::quiet;
    if (progress == "plain") return Mode::plain;
    if (progress == "tty") return Mode::tty;
    return ::isatty(::fileno(stream)) ? Mode::tty : Mode::plain;
}

BuildProgressView::BuildProgressView(std::FILE* stream, Mode mode) : out_(stream), mode_(mode) {
    if (mode_ == Mode::tty) thread_ = std::thread([this] { ticker(); });
}

BuildProgressView::~BuildProgressView() {
    finish();
}

void BuildProgressView::finish() {
    {
        std::lock_guard lock(mutex_);
        if (finished_) return;
        finished_ = true;
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mutex_);
    if (mode_ == Mode::tty) redraw_locked(true);
    std::fflush(out_);
}

void BuildProgressView::ticker() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        redraw_locked(false);
        wake_.wait_for(lock, std::chrono::milliseconds(100));
    }
}

void BuildProgressView::started(int id, const std::string& name) {
    std::lock_guard lock(mutex_);
    Step& s = steps_[id];
    s.name = name;
    s.start = Clock::now();
    if (mode_ == Mode::plain) std::fprintf(out_, "#%d %s\n", id, name.c_str());
}

void BuildProgressView::output(int id, std::string_view text) {
    std::lock_guard lock(mutex_);
    Step& s = steps_[id];
    s.partial += text;
    size_t nl;
    while ((nl = s.partial.find('\n')) != std::string::npos) {
        std::string line = s.partial.substr(0, nl);
        s.partial.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (mode_ == Mode::plain)
            std::fprintf(out_, "#%d %s %s\n", id, elapsed_text(Clock::now() - s.start, 3).c_str(),
                         line.c_str());
        s.lines.push_back(std::move(line));
        if (s.lines.size() > 6) s.lines.erase(s.lines.begin());
    }
}

void BuildProgressView::cached(int id) {
    std::lock_guard lock(mutex_);
    steps_[id].cached = true;
    if (mode_ == Mode::plain) std::fprintf(out_, "#%d CACHED\n\n", id);
}

void BuildProgressView::finished(int id, const std::string& error) {
    std::lock_guard lock(mutex_);
    Step& s = steps_[id];
    s.done = true;
    s.end = Clock::now();
    s.error = error;
    if (mode_ == Mode::plain) {
        if (!s.partial.empty()) {
            std::fprintf(out_, "#%d %s %s\n", id, elapsed_text(s.end - s.start, 3).c_str(),
                         s.partial.c_str());
            s.partial.clear();
        }
        if (!error.empty())
            std::fprintf(out_, "#%d ERROR: %s\n\n", id, error.c_str());
        else if (!s.cached)
            std::fprintf(out_, "#%d DONE %ss\n\n", id, elapsed_text(s.end - s.start).c_str());
        std::fflush(out_);
    }
}

void BuildProgressView::notice(const std::string& text) {
    std::lock_guard lock(mutex_);
    if (mode_ == Mode::quiet) return;
    if (mode_ == Mode::plain) {
        std::fprintf(out_, "%s\n", text.c_str());
        return;
    }
    notices_.push_back(text);
}

void BuildProgressView::redraw_locked(bool final) {
    if (mode_ != Mode::tty) return;
    size_t width = terminal_width(out_);
    std::string frame;
    for (size_t i = 0; i < drawn_; ++i)
        frame += "\x1b[1A\x1b[2K";
    frame += "\r";
    size_t done = 0;
    for (const auto& [id, s] : steps_)
        if (s.done) ++done;
    std::vector<std::string> lines;
    lines.push_back(std::string("[+] Building ") + elapsed_text(Clock::now() - start_) + "s (" +
                    std::to_string(done) + "/" + std::to_string(steps_.size()) + ")" +
                    (final ? " FINISHED" : ""));
    for (const auto& [id, s] : steps_) {
        std::string label = " => " + std::string(s.cached ? "CACHED " : "") +
                            (s.error.empty() ? "" : "ERROR ") + s.name;
        std::string timer = elapsed_text((s.done ? s.end : Clock::now()) - s.start) + "s";
        if (label.size() + timer.size() + 1 > width)
            label = label.substr(0, width - timer.size() - 4) + "...";
        std::string pad(
            width > label.size() + timer.size() ? width - label.size() - timer.size() - 1 : 1, ' ');
        lines.push_back(label + pad + timer);
        if (!s.done || !s.error.empty())
            for (const auto& l : s.lines) {
                std::string shown = " => => # " + l;
                if (shown.size() > width - 1) shown = shown.substr(0, width - 1);
                lines.push_back(shown);
            }
    }
    for (const auto& n : notices_)
        lines.push_back(n);
    for (const auto& l : lines)
        frame += l + "\n";
    drawn_ = lines.size();
    std::fwrite(frame.data(), 1, frame.size(), out_);
    std::fflush(out_);
}

}  // namespace berth::cli
