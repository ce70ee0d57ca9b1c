// v1 freezer: freezer.state, polled until FROZEN or THAWED settles.
#include <time.h>

#include <algorithm>

#include "common/error.hpp"
#include "common/strings.hpp"
#include "runtime/cgroup/controllers.hpp"
#include "runtime/cgroup/files.hpp"

namespace berth::runtime::cgroup::v1 {
namespace {

void sleep_us(long us) {
    timespec ts{us / 1000000, (us % 1000000) * 1000};
    ::nanosleep(&ts, nullptr);
}

std::string state(const std::string& dir) {
    return std::string(trim(cg_read(dir, "freezer.state")));
}

// Polls for up to `budget_us`, with short sleeps that grow to 10 ms.
bool wait_state(const std::string& dir, const std::string& want, long budget_us) {
    long waited = 0, step = 100;
    for (;;) {
        if (state(dir) == want) return true;
        if (waited >= budget_us) return false;
        sleep_us(step);
        waited += step;
        step = std::min(step * 2, 10000L);
    }
}

}  // namespace

void freeze(const std::string& dir) {
    // A task in vfork or an uninterruptible sleep can keep the cgroup in FREEZING; like runc,
    // thaw briefly and try again, a bounded number of times.
    for (int attempt = 0; attempt < 20; ++attempt) {
        cg_write(dir, "freezer.state", "FROZEN");
        if (wait_state(dir, "FROZEN", 100000)) return;
        cg_write(dir, "freezer.state", "THAWED");
        sleep_us(1000);
    }
    cg_write(dir, "freezer.state", "THAWED");
    throw Error("cannot freeze the cgroup " + dir + ": it stays in FREEZING");
}

void thaw(const std::string& dir) {
    cg_write(dir, "freezer.state", "THAWED");
    if (!wait_state(dir, "THAWED", 2000000))
        throw Error("cannot thaw the cgroup " + dir + ": it stays frozen");
}

bool frozen(const std::string& dir) {
    auto text = cg_read_if_exists(dir, "freezer.state");
    return text && trim(*text) == "FROZEN";
}

}  // namespace berth::runtime::cgroup::v1
