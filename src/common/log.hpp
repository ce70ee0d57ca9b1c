// The runtime's log, in runc's two formats so that containerd and podman can read it:
//   text: time="2024-01-02T03:04:05Z" level=error msg="..."
//   json: {"level":"error","msg":"...","time":"2024-01-02T03:04:05Z"}
// Without a log file, messages go to stderr as "berth-runtime: level: msg".
#pragma once

#include <string>
#include <string_view>

namespace berth::log {

enum class Level { debug, info, warning, error };
enum class Format { text, json };

// Opens path for appending (empty path: stderr only). Safe to call once at start-up.
void configure(const std::string& path, Format format, bool debug);
void set_program_name(std::string_view name);

void write(Level level, std::string_view message);
inline void debug(std::string_view m) {
    write(Level::debug, m);
}
inline void info(std::string_view m) {
    write(Level::info, m);
}
inline void warn(std::string_view m) {
    write(Level::warning, m);
}
inline void error(std::string_view m) {
    write(Level::error, m);
}

bool debug_enabled();

// The log fd, so a forked child can keep writing into the same file (-1 when none).
int file_descriptor();

}  // namespace berth::log
