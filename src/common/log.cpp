#include "common/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "common/time.hpp"

namespace berth::log {
namespace {

struct State {
    int fd = -1;
    Format format = Format::text;
    bool debug = false;
    std::string program = "berth";
};

State& state() {
    static State s;
    return s;
}

const char* level_name(Level level) {
    switch (level) {
        case Level::debug:
            return "debug";
        case Level::info:
            return "info";
        case Level::warning:
            return "warning";
        case Level::error:
            return "error";
    }
    return "info";
}

std::string timestamp() {
    return rfc3339_now(false);
}

void write_fd(int fd, const std::string& line) {
    // One write per line keeps lines whole when several processes share the file.
    ssize_t unused = ::write(fd, line.data(), line.size());
    (void)unused;
}

}  // namespace

void configure(const std::string& path, Format format, bool debug) {
    State& s = state();
    s.format = format;
    s.debug = debug;
    if (!path.empty()) {
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) s.fd = fd;
    }
}

void set_program_name(std::string_view name) {
    state().program = name;
}

bool debug_enabled() {
    return state().debug;
}

int file_descriptor() {
    return state().fd;
}

void write(Level level, std::string_view message) {
    const State& s = state();
    if (level == Level::debug && !s.debug) return;
    if (s.fd >= 0) {
        std::string line;
        if (s.format == Format::json) {
            nlohmann::json j = {
                {"level", level_name(level)}, {"msg", std::string(message)}, {"time", timestamp()}};
            line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        } else {
            nlohmann::json quoted = std::string(message);
            line = "time=\"" + timestamp() + "\" level=" + level_name(level) +
                   " msg=" + quoted.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                   "\n";
        }
        write_fd(s.fd, line);
    }
    // Errors and warnings always reach the user; debug/info only without a log file.
    if (s.fd < 0 || level >= Level::warning) {
        std::string line = s.program + ": ";
        if (level != Level::error) line += std::string(level_name(level)) + ": ";
        line.append(message);
        line += '\n';
        write_fd(STDERR_FILENO, line);
    }
}

}  // namespace berth::log
