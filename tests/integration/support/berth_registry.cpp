#include "support/berth_registry.hpp"

#include <signal.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "support/http_server.hpp"
#include "support/images.hpp"

namespace berth::test {

BerthRegistry::BerthRegistry(std::vector<std::string> extra, std::string root,
                             std::vector<std::string> wrapper)
    : dir_("berth-reg"),
      root_(root.empty() ? dir_.path() + "/root" : std::move(root)),
      extra_(std::move(extra)),
      wrapper_(std::move(wrapper)) {
    for (const auto& flag : extra_)
        if (flag == "--tls-cert") scheme_ = "https";
    port_ = free_port();
    start();
}

void BerthRegistry::start() {
    std::vector<std::string> argv = wrapper_;
    for (const auto& word : {berth_binary(), std::string("registry"), std::string("serve"),
                             std::string("--addr"), host(), std::string("--root"), root_})
        argv.push_back(word);
    argv.insert(argv.end(), extra_.begin(), extra_.end());
    CommandOptions options;
    options.output_path = dir_.path() + "/registry.log";
    process_ = std::make_unique<BackgroundCommand>(argv, options);
    if (!wait_for_port(port_, std::chrono::seconds(10))) {
        process_.reset();
        throw std::runtime_error("berth registry did not start: " + log());
    }
}

BerthRegistry::~BerthRegistry() {
    stop();
}

int BerthRegistry::stop() {
    if (!process_) return -1;
    process_->signal(SIGTERM);
    int code = process_->wait(std::chrono::seconds(10));
    if (code < 0) {
        process_->signal(SIGKILL);
        process_->wait(std::chrono::seconds(5));
    }
    process_.reset();
    return code;
}

void BerthRegistry::kill9() {
    if (!process_) return;
    process_->signal(SIGKILL);
    process_->wait(std::chrono::seconds(5));
    process_.reset();
}

std::string BerthRegistry::log() const {
    std::ifstream in(dir_.path() + "/registry.log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace berth::test
