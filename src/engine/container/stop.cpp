// Signals and waiting: stop (the stop signal, then SIGKILL after the timeout), kill,
// restart, pause/unpause, wait.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "common/error.hpp"
#include "engine/container/specs.hpp"
#include "engine/engine.hpp"
#include "engine/process_identity.hpp"
#include "engine/subprocess.hpp"

namespace berth::engine {
namespace {

using Clock = std::chrono::steady_clock;

bool is_up(const ContainerRecord& r) {
    return r.state.status == Status::running || r.state.status == Status::paused;
}

}  // namespace

void Engine::run_runtime(const ContainerRecord& record, const std::vector<std::string>& args,
                         bool check) {
    std::vector<std::string> argv = {runtime_for(record), "--root", paths_.runtime_state};
    argv.insert(argv.end(), args.begin(), args.end());
    SubprocessResult r = run_subprocess(argv);
    if (check && r.exit_code != 0) {
        std::string message = r.err;
        while (!message.empty() && message.back() == '\n')
            message.pop_back();
        throw Error(message.empty() ? "the runtime failed" : message);
    }
}

void Engine::stop(const std::string& name_or_id, int64_t timeout) {
    ContainerRecord r = find(name_or_id);
    db_.modify_state(r.id, [](ContainerState& s) { s.stopped_by_user = true; });
    if (!is_up(r)) return;
    if (timeout < 0) timeout = r.config.value("stop_timeout", int64_t{10});
    int sig = parse_signal(r.config.value("stop_signal", "SIGTERM"));
    if (r.state.status == Status::paused) run_runtime(r, {"resume", r.id}, false);
    run_runtime(r, {"kill", r.id, std::to_string(sig)}, false);
    auto deadline = Clock::now() + std::chrono::seconds(timeout);
    while (process_alive(r.state.pid, r.state.pid_start) && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (process_alive(r.state.pid, r.state.pid_start)) {
        run_runtime(r, {"kill", r.id, "9"}, false);
        // The runtime may have lost the container (its state gone): the pid is known.
        ::kill(static_cast<pid_t>(r.state.pid), SIGKILL);
    }
    // The monitor records the exit; wait for it (or take over when it is gone).
    auto recorded = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < recorded) {
        auto now = db_.get(r.id);
        if (!now || !is_up(reconcile(*now))) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

void Engine::kill(const std::string& name_or_id, const std::string& signal) {
    ContainerRecord r = find(name_or_id);
    if (!is_up(r)) throw Error("container " + r.name + " is not running");
    int sig = parse_signal(signal);
    run_runtime(r, {"kill", r.id, std::to_string(sig)});
}

void Engine::restart(const std::string& name_or_id, int64_t timeout) {
    ContainerRecord r = find(name_or_id);
    stop(r.id, timeout);
    // The monitor may still be running the cleanup: wait for it to leave.
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
        auto now = db_.get(r.id);
        if (!now || !now->state.monitor_pid ||
            !process_alive(now->state.monitor_pid, now->state.monitor_start))
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    start(r.id);
}

void Engine::pause(const std::string& name_or_id) {
    ContainerRecord r = find(name_or_id);
    if (r.state.status != Status::running) throw Error("container " + r.name + " is not running");
    run_runtime(r, {"pause", r.id});
    db_.modify_state(r.id, [](ContainerState& s) {
        if (s.status == Status::running) s.status = Status::paused;
    });
}

void Engine::unpause(const std::string& name_or_id) {
    ContainerRecord r = find(name_or_id);
    if (r.state.status != Status::paused) throw Error("container " + r.name + " is not paused");
    run_runtime(r, {"resume", r.id});
    db_.modify_state(r.id, [](ContainerState& s) {
        if (s.status == Status::paused) s.status = Status::running;
    });
}

int64_t Engine::wait(const std::string& name_or_id) {
    ContainerRecord r = find(name_or_id);
    int64_t code = r.state.exit_code;
    // A created container is waited for through its start and its end, as docker does.
    while (true) {
        auto now = db_.get(r.id);
        if (!now) return code;
        ContainerRecord current = reconcile(*now);
        code = current.state.exit_code;
        if (current.state.status == Status::exited || current.state.status == Status::dead)
            return code;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

}  // namespace berth::engine
