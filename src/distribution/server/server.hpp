// `berth registry serve`: the HTTP(S) server around the router. Boost.Asio/Beast with one
// io_context per thread and C++20 coroutines per connection; request heads are read under a
// deadline, bodies stream into the route's sink chunk by chunk (each read under a deadline),
// blobs go out with sendfile(2) (or pread + TLS writes behind TLS). SIGTERM/SIGINT stop
// accepting, close idle connections and let requests in flight finish (up to the grace).
#pragma once

#include <memory>

#include "distribution/server/config.hpp"

namespace berth::registry {

class RegistryServer {
  public:
    // Opens the storage and auth files; throws Error on a bad configuration.
    explicit RegistryServer(RegistryConfig config);
    ~RegistryServer();
    RegistryServer(const RegistryServer&) = delete;
    RegistryServer& operator=(const RegistryServer&) = delete;

    // Binds and serves until SIGTERM or SIGINT, then shuts down gracefully.
    void run();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace berth::registry
