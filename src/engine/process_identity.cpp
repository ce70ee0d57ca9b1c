#include "engine/process_identity.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace berth::engine {

int64_t process_start_time(int64_t pid) {
    if (pid <= 0) return 0;
    std::string path = "/proc/" + std::to_string(pid) + "/stat";
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char buffer[1024];
    ssize_t n = ::read(fd, buffer, sizeof buffer - 1);
    ::close(fd);
    if (n <= 0) return 0;
    buffer[n] = '\0';
    // The command name may hold spaces and parentheses: fields count from the last ')'.
    char* p = std::strrchr(buffer, ')');
    if (!p) return 0;
    // After ')' come fields 3 (state) .. ; start time is field 22, the 20th after ')'.
    if (p[2] == 'Z' || p[2] == 'X') return 0;  // a zombie has finished
    for (int field = 3; field <= 22 && p; ++field)
        p = std::strchr(p + 1, ' ');
    if (!p) return 0;
    return std::strtoll(p + 1, nullptr, 10);
}

bool process_alive(int64_t pid, int64_t start_time) {
    int64_t actual = process_start_time(pid);
    if (actual == 0) return false;
    return start_time == 0 || actual == start_time;
}

}  // namespace berth::engine
