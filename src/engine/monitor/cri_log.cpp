#include "engine/monitor/cri_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "common/file.hpp"
#include "common/time.hpp"

namespace berth::engine {
namespace {

constexpr size_t kMaxRecord = 16 * 1024;
constexpr size_t kWriteSlice = 256 * 1024;

std::string now_nanoseconds() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return format_rfc3339(ts, false);
}

}  // namespace

CriLogWriter::CriLogWriter(std::string path, int64_t max_size)
    : path_(std::move(path)), max_size_(max_size) {
    fd_ = open_file(path_, O_WRONLY | O_CREAT | O_APPEND, 0640);
    struct stat st {};
    if (::fstat(fd_.get(), &st) == 0) size_ = st.st_size;
}

void CriLogWriter::append(std::string_view prefix, std::string_view line, bool partial) {
    while (line.size() > kMaxRecord) {
        out_.append(prefix);
        out_.append("P ");
        out_.append(line.substr(0, kMaxRecord));
        out_.push_back('\n');
        line.remove_prefix(kMaxRecord);
    }
    out_.append(prefix);
    out_.append(partial ? "P " : "F ");
    out_.append(line);
    out_.push_back('\n');
}

void CriLogWriter::write_out() {
    rotate_if_needed();
    // A full disk must not stop the container: its output is then lost, not blocked.
    std::string_view left = out_;
    while (!left.empty()) {
        ssize_t n = ::write(fd_.get(), left.data(), left.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        size_ += n;
        left.remove_prefix(static_cast<size_t>(n));
    }
    out_.clear();
}

void CriLogWriter::rotate_if_needed() {
    if (max_size_ <= 0 || size_ < max_size_) return;
    std::string older = path_ + ".1";
    if (::rename(path_.c_str(), older.c_str()) != 0) return;
    UniqueFd fresh(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
    if (fresh) {
        fd_ = std::move(fresh);
        size_ = 0;
    }
}

void CriLogWriter::write(LogStream stream, std::string_view data) {
    std::string& pending = pending_[stream == LogStream::stdout_stream ? 0 : 1];
    // One timestamp for what one read brought.
    std::string prefix = now_nanoseconds();
    prefix += stream == LogStream::stdout_stream ? " stdout " : " stderr ";
    while (!data.empty()) {
        const size_t newline = data.find('\n');
        if (newline == std::string_view::npos) {
            pending.append(data);
            break;
        }
        if (pending.empty()) {
            append(prefix, data.substr(0, newline), false);
        } else {  // the end of a line that an earlier read began
            pending.append(data.substr(0, newline));
            append(prefix, pending, false);
            pending.clear();
        }
        data.remove_prefix(newline + 1);
        // Written in slices of a few hundred kilobytes: a flood of short lines makes records
        // many times larger than the read.
        if (out_.size() >= kWriteSlice) write_out();
    }
    while (pending.size() >= kMaxRecord) {
        append(prefix, std::string_view(pending).substr(0, kMaxRecord), true);
        pending.erase(0, kMaxRecord);
    }
    if (!out_.empty()) write_out();
}

void CriLogWriter::flush() {
    for (int i = 0; i < 2; ++i) {
        if (pending_[i].empty()) continue;
        std::string prefix = now_nanoseconds();
        prefix += i == 0 ? " stdout " : " stderr ";
        append(prefix, pending_[i], true);
        pending_[i].clear();
    }
    if (!out_.empty()) write_out();
}

std::optional<LogRecord> parse_cri_line(std::string_view line) {
    size_t a = line.find(' ');
    if (a == std::string_view::npos) return std::nullopt;
    size_t b = line.find(' ', a + 1);
    if (b == std::string_view::npos) return std::nullopt;
    size_t c = line.find(' ', b + 1);
    std::string_view stream = line.substr(a + 1, b - a - 1);
    std::string_view tag =
        line.substr(b + 1, c == std::string_view::npos ? std::string_view::npos : c - b - 1);
    LogRecord r;
    r.time = std::string(line.substr(0, a));
    if (stream == "stdout")
        r.stream = LogStream::stdout_stream;
    else if (stream == "stderr")
        r.stream = LogStream::stderr_stream;
    else
        return std::nullopt;
    if (tag != "F" && tag != "P") return std::nullopt;
    r.partial = tag == "P";
    if (c != std::string_view::npos) r.content = std::string(line.substr(c + 1));
    return r;
}

std::vector<LogRecord> read_cri_log(const std::string& path) {
    std::vector<LogRecord> out;
    for (const std::string& file : {path + ".1", path}) {
        auto text = read_file_if_exists(file);
        if (!text) continue;
        size_t start = 0;
        while (start < text->size()) {
            size_t end = text->find('\n', start);
            if (end == std::string::npos) break;  // a record being written
            if (auto r = parse_cri_line(std::string_view(*text).substr(start, end - start)))
                out.push_back(std::move(*r));
            start = end + 1;
        }
    }
    return out;
}

}  // namespace berth::engine
