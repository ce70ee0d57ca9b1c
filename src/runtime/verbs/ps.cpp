#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/strings.hpp"
#include "runtime/cgroup/manager.hpp"
#include "runtime/verbs/verbs.hpp"

namespace berth::runtime {

std::vector<pid_t> container_pids(const StateRoot& root, const std::string& id) {
    ContainerState state = root.load(id);
    std::unique_ptr<cgroup::Manager> cg;
    if (!state.cgroup.is_null()) cg = cgroup::Manager::from_json(state.cgroup);
    if (cg && !cg->placements().empty()) {
        auto pids = cg->pids();
        std::sort(pids.begin(), pids.end());
        return pids;
    }
    // No cgroup of its own (rootless, not delegated): its pid namespace, or the init alone.
    if (!init_alive(state)) return {};
    if (state.own_pid_namespace) return processes_in_pid_namespace(state.pid);
    return {state.pid};
}

std::string container_ps_table(const StateRoot& root, const std::string& id,
                               const std::vector<std::string>& ps_args) {
    std::vector<pid_t> pids = container_pids(root, id);
    std::vector<std::string> args{"ps"};
    if (ps_args.empty())
        args.emplace_back("-ef");
    else
        args.insert(args.end(), ps_args.begin(), ps_args.end());
    int out[2];
    if (::pipe2(out, O_CLOEXEC) < 0) throw_errno("pipe");
    UniqueFd read_end(out[0]), write_end(out[1]);
    pid_t child = ::fork();
    if (child < 0) throw_errno("fork");
    if (child == 0) {
        ::dup2(write_end.get(), STDOUT_FILENO);
        std::vector<char*> argv = c_string_array(args);
        ::execvp("ps", argv.data());
        _exit(127);
    }
    write_end.reset();
    std::string text = read_fd(read_end.get(), "ps output");
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw Error("ps " + join(ps_args, " ") + " failed");

    auto lines = split(text, '\n');
    if (lines.empty()) return text;
    // Find the PID column in the header, then keep the rows whose pid is the container's.
    auto header = split(std::string(trim(lines[0])), ' ');
    std::vector<std::string> columns;
    for (auto& h : header)
        if (!h.empty()) columns.push_back(h);
    auto pid_column = std::find(columns.begin(), columns.end(), "PID");
    if (pid_column == columns.end()) throw Error("ps output has no PID column");
    size_t index = static_cast<size_t>(pid_column - columns.begin());
    std::string result = lines[0] + "\n";
    for (size_t i = 1; i < lines.size(); ++i) {
        std::vector<std::string> fields;
        for (auto& f : split(std::string(trim(lines[i])), ' '))
            if (!f.empty()) fields.push_back(f);
        if (fields.size() <= index) continue;
        auto pid = parse_int64(fields[index]);
        if (pid && std::binary_search(pids.begin(), pids.end(), static_cast<pid_t>(*pid)))
            result += lines[i] + "\n";
    }
    return result;
}

}  // namespace berth::runtime
