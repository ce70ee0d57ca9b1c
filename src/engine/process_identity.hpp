// A process known by its pid and its start time (field 22 of /proc/PID/stat, in clock
// ticks since boot): a pid alone may have been reused by the time someone checks it, e.g.
// after a monitor was SIGKILLed and the machine started thousands of processes since.
#pragma once

#include <cstdint>

namespace berth::engine {

// 0 when the process does not exist.
int64_t process_start_time(int64_t pid);

// True when pid is alive and started at start_time (any start time when start_time is 0).
bool process_alive(int64_t pid, int64_t start_time);

}  // namespace berth::engine
