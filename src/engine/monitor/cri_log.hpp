// Container logs in the Kubernetes CRI format, one record per line:
//   2024-01-02T03:04:05.123456789Z stdout F the line
// "F" ends a line, "P" is a part of a longer one (split at kMaxRecord bytes or at the end of
// a stream without a newline). When the file passes its maximum size it becomes PATH.1 (one
// older file kept) and a new PATH starts.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/unique_fd.hpp"

namespace berth::engine {

enum class LogStream { stdout_stream, stderr_stream };

// A container that floods its output must cost its monitor little: the records of a whole
// read are built in one buffer, with one timestamp, and written with one write(2) (a write
// per line cost ~30 times more CPU than the container spent making the lines). A line
// longer than kMaxRecord becomes "P" records and a final "F".
class CriLogWriter {
  public:
    CriLogWriter(std::string path, int64_t max_size);
    // Bytes from a stream; whole lines are written at once, the rest waits for more.
    void write(LogStream stream, std::string_view data);
    // Writes what is left of unfinished lines as partial records (the stream ended).
    void flush();

  private:
    // Appends the records of one line (partial: it goes on) to out_.
    void append(std::string_view prefix, std::string_view line, bool partial);
    // Writes out_ (rotating first when the file is full) and empties it.
    void write_out();
    void rotate_if_needed();
    std::string path_;
    int64_t max_size_;
    int64_t size_ = 0;
    UniqueFd fd_;
    std::string pending_[2];
    std::string out_;
};

struct LogRecord {
    std::string time;  // RFC 3339 with nanoseconds
    LogStream stream = LogStream::stdout_stream;
    bool partial = false;
    std::string content;
};

// Parses one line of a CRI log; nullopt for a malformed one.
std::optional<LogRecord> parse_cri_line(std::string_view line);

// Every record of PATH.1 then PATH, oldest first.
std::vector<LogRecord> read_cri_log(const std::string& path);

}  // namespace berth::engine
