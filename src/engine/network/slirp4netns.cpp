#include "engine/network/slirp4netns.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/strings.hpp"
#include "engine/monitor/console_socket.hpp"

namespace berth::engine {
namespace {

constexpr int kReadyTimeoutMs = 10000;

// What slirp4netns logged, on one line, for an error message.
std::string log_text(const std::string& path) {
    auto text = read_file_if_exists(path);
    if (!text) return {};
    std::string out;
    for (const auto& line : split(std::string(trim(*text)), '\n'))
        if (!line.empty()) out += (out.empty() ? "" : "; ") + line;
    if (out.find("/dev/net/tun") != std::string::npos)
        out += " (slirp4netns needs /dev/net/tun mode 0666, as udev makes it)";
    return out;
}

}  // namespace

Slirp4netns::Slirp4netns(const Options& options) : api_socket_(options.api_socket) {
    int exit_pipe[2], ready_pipe[2];
    if (::pipe2(exit_pipe, O_CLOEXEC) != 0) throw_errno("pipe");
    UniqueFd exit_read(exit_pipe[0]);
    exit_write_.reset(exit_pipe[1]);
    if (::pipe2(ready_pipe, O_CLOEXEC) != 0) throw_errno("pipe");
    UniqueFd ready_read(ready_pipe[0]), ready_write(ready_pipe[1]);
    ::unlink(api_socket_.c_str());
    UniqueFd log = open_file(options.log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    std::vector<std::string> args = {
        options.program,     "--configure",      "--mtu=65520", "--disable-host-loopback",
        "--api-socket",      api_socket_,        "--exit-fd=3", "--ready-fd=4",
        "--netns-type=path", options.netns_path, "tap0"};
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
        // Also gone with its owner when the owner dies before closing the exit pipe.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (::getppid() != parent) ::_exit(1);
        int null = ::open("/dev/null", O_RDONLY);
        ::dup2(null, STDIN_FILENO);
        ::dup2(log.get(), STDOUT_FILENO);
        ::dup2(log.get(), STDERR_FILENO);
        // dup2 onto 3 and 4 in an order that cannot overwrite the other source.
        int exit_fd = ::fcntl(exit_read.get(), F_DUPFD_CLOEXEC, 10);
        int ready_fd = ::fcntl(ready_write.get(), F_DUPFD_CLOEXEC, 10);
        if (exit_fd < 0 || ready_fd < 0 || ::dup2(exit_fd, 3) < 0 || ::dup2(ready_fd, 4) < 0)
            ::_exit(1);
        ::close_range(5, ~0U, 0);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    pid_ = pid;
    ready_write.reset();
    exit_read.reset();
    pollfd p{ready_read.get(), POLLIN, 0};
    char byte = 0;
    if (::poll(&p, 1, kReadyTimeoutMs) != 1 || ::read(ready_read.get(), &byte, 1) != 1 ||
        byte != '1') {
        stop();
        std::string why = log_text(options.log_path);
        throw Error("slirp4netns did not start" + (why.empty() ? std::string() : ": " + why));
    }
}

Slirp4netns::Slirp4netns(Slirp4netns&& other) noexcept
    : pid_(std::exchange(other.pid_, 0)),
      exit_write_(std::move(other.exit_write_)),
      api_socket_(std::move(other.api_socket_)) {}

Slirp4netns& Slirp4netns::operator=(Slirp4netns&& other) noexcept {
    if (this != &other) {
        stop();
        pid_ = std::exchange(other.pid_, 0);
        exit_write_ = std::move(other.exit_write_);
        api_socket_ = std::move(other.api_socket_);
    }
    return *this;
}

void Slirp4netns::forward(const ForwardedPort& port) const {
    std::string what =
        "cannot publish port " + std::to_string(port.host_port) + "/" + port.protocol;
    nlohmann::json request = {{"execute", "add_hostfwd"},
                              {"arguments",
                               {{"proto", port.protocol},
                                {"host_addr", port.host_ip.empty() ? "0.0.0.0" : port.host_ip},
                                {"host_port", port.host_port},
                                {"guest_addr", kSlirp4netnsGuestAddress},
                                {"guest_port", port.container_port}}}};
    UniqueFd api = connect_unix(api_socket_);
    std::string text = request.dump();
    write_all(api.get(), text, api_socket_);
    ::shutdown(api.get(), SHUT_WR);
    std::string reply = read_fd(api.get(), api_socket_);
    nlohmann::json doc = nlohmann::json::parse(reply, nullptr, false);
    if (doc.is_discarded()) throw Error(what + ": slirp4netns replied \"" + reply + "\"");
    if (doc.contains("error")) {
        std::string desc = doc["error"].value("desc", reply);
        // slirp only says that the bind failed; in use is what it nearly always means.
        if (desc.find("add_hostfwd") != std::string::npos)
            throw Error(what + ": port is already allocated (" + desc + ")");
        throw Error(what + ": " + desc);
    }
}

void Slirp4netns::stop() noexcept {
    if (pid_ <= 0) return;
    exit_write_.reset();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (true) {
        int status = 0;
        pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_ || (r < 0 && errno == ECHILD)) break;  // ECHILD: a subreaper reaped it
        if (std::chrono::steady_clock::now() >= deadline) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    pid_ = 0;
    ::unlink(api_socket_.c_str());
}

}  // namespace berth::engine
