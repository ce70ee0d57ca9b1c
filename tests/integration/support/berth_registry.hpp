// `berth registry serve` for the registry server tests: started on a free 127.0.0.1 port
// with a private storage root (or the one given), its output in a log file, stopped with
// SIGTERM (SIGKILL after 10 s) when the test ends however it ends.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/command.hpp"
#include "support/fixture.hpp"

namespace berth::test {

class BerthRegistry {
  public:
    // extra: more `serve` flags. root: empty for a fresh one under the temp dir. wrapper: a
    // command that runs berth (e.g. {"prlimit", "--nofile=1024:1024", "--"}).
    explicit BerthRegistry(std::vector<std::string> extra = {}, std::string root = {},
                           std::vector<std::string> wrapper = {});
    ~BerthRegistry();
    BerthRegistry(const BerthRegistry&) = delete;
    BerthRegistry& operator=(const BerthRegistry&) = delete;

    [[nodiscard]] std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
    [[nodiscard]] std::string url() const { return scheme_ + "://" + host(); }
    [[nodiscard]] int port() const { return port_; }
    [[nodiscard]] const std::string& root() const { return root_; }
    [[nodiscard]] const std::string& dir() const { return dir_.path(); }
    [[nodiscard]] std::string log() const;
    [[nodiscard]] int pid() const { return process_ ? process_->pid() : -1; }
    // SIGTERM and wait; returns the exit code (-1 when it had to be killed).
    int stop();
    void kill9();
    void start();  // again, same port and root

  private:
    TempDir dir_;
    std::string root_;
    std::vector<std::string> extra_;
    std::vector<std::string> wrapper_;
    std::string scheme_ = "http";
    int port_ = 0;
    std::unique_ptr<BackgroundCommand> process_;
};

}  // namespace berth::test
