#include "engine/monitor/cri_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>

#include "common/file.hpp"
#include "common/time.hpp"

namespace berth::engine {
namespace {

constexpr size_t kMaxRecord = 16 * 1024;

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

void CriLogWriter::emit(LogStream stream, std::string_view line, bool partial) {
    std::string record = now_nanoseconds();
    record += stream == LogStream::stdout_stream ? " stdout " : " stderr ";
    record += partial ? "P " : "F ";
    record.append(line);
    record.push_back('\n');
    rotate_if_needed();
    // A full disk must not stop the container: its output is then lost, not blocked.
    ssize_t n = ::write(fd_.get(), record.data(), record.size());
    if (n > 0) size_ += n;
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
    pending.append(data);
    size_t start = 0;
    while (true) {
        size_t newline = pending.find('\n', start);
        if (newline == std::string::npos) break;
        emit(stream, std::string_view(pending).substr(start, newline - start), false);
        start = newline + 1;
    }
    pending.erase(0, start);
    while (pending.size() >= kMaxRecord) {
        emit(stream, std::string_view(pending).substr(0, kMaxRecord), true);
        pending.erase(0, kMaxRecord);
    }
}

void CriLogWriter::flush() {
    for (int i = 0; i < 2; ++i) {
        if (pending_[i].empty()) continue;
        emit(i == 0 ? LogStream::stdout_stream : LogStream::stderr_stream, pending_[i], true);
        pending_[i].clear();
    }
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
