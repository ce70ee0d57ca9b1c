// Engine::logs: the CRI log read back, --since/--tail/--timestamps, and -f following the
// file (across a rotation) until the container is done.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <thread>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/time.hpp"
#include "engine/container/specs.hpp"
#include "engine/engine.hpp"
#include "engine/monitor/cri_log.hpp"
#include "engine/process_identity.hpp"

namespace berth::engine {
namespace {

void print(const LogRecord& r, bool timestamps, int out_fd, int err_fd) {
    std::string text;
    if (timestamps) text = r.time + " ";
    text += r.content;
    if (!r.partial) text.push_back('\n');
    write_all(r.stream == LogStream::stdout_stream ? out_fd : err_fd, text, "output");
}

// --since: RFC 3339 (compared as text, both UTC), or a duration before now.
std::string since_time(const std::string& since) {
    if (since.empty()) return {};
    if (since.find('T') != std::string::npos || since.find('-') != std::string::npos) return since;
    int64_t ms = parse_duration_ms(since);
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec -= ms / 1000;
    return format_rfc3339(ts, false);
}

}  // namespace

void Engine::logs(const std::string& name_or_id, const LogsOptions& o, int out_fd, int err_fd) {
    ContainerRecord r = find(name_or_id);
    std::string path = paths_.container_dir(r.id) + "/container.log";
    std::vector<LogRecord> records = read_cri_log(path);
    std::string since = since_time(o.since);
    if (!since.empty())
        std::erase_if(records, [&](const LogRecord& rec) { return rec.time < since; });
    size_t first = 0;
    if (o.tail && static_cast<size_t>(*o.tail) < records.size())
        first = records.size() - static_cast<size_t>(*o.tail);
    for (size_t i = first; i < records.size(); ++i)
        print(records[i], o.timestamps, out_fd, err_fd);
    if (!o.follow) return;

    struct stat st {};
    off_t offset = ::stat(path.c_str(), &st) == 0 ? st.st_size : 0;
    ino_t inode = st.st_ino;
    std::string pending;
    auto read_more = [&] {
        struct stat now {};
        if (::stat(path.c_str(), &now) != 0) return;
        if (now.st_ino != inode) {  // rotated: the rest of the old file is in PATH.1
            inode = now.st_ino;
            offset = 0;
        }
        if (now.st_size <= offset) return;
        UniqueFd fd = open_file(path, O_RDONLY);
        std::string chunk(static_cast<size_t>(now.st_size - offset), '\0');
        ssize_t n = ::pread(fd.get(), chunk.data(), chunk.size(), offset);
        if (n <= 0) return;
        offset += n;
        pending.append(chunk.data(), static_cast<size_t>(n));
        size_t start = 0, end;
        while ((end = pending.find('\n', start)) != std::string::npos) {
            if (auto rec = parse_cri_line(std::string_view(pending).substr(start, end - start)))
                print(*rec, o.timestamps, out_fd, err_fd);
            start = end + 1;
        }
        pending.erase(0, start);
    };
    while (true) {
        read_more();
        auto now = db_.get(r.id);
        if (!now) return;
        ContainerRecord current = reconcile(*now);
        bool up = current.state.status == Status::running ||
                  current.state.status == Status::paused ||
                  (current.state.monitor_pid &&
                   process_alive(current.state.monitor_pid, current.state.monitor_start));
        if (!up) {
            read_more();
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

}  // namespace berth::engine
