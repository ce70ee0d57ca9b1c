// What pull and push report while they work, for a progress display (src/cli). Called from
// several threads at once; implementations lock.
#pragma once

#include <cstdint>
#include <string>

#include "common/digest.hpp"

namespace berth::distribution {

class TransferObserver {
  public:
    virtual ~TransferObserver() = default;
    // A step of the whole transfer ("Resolved docker.io/library/busybox:latest to sha256:...").
    virtual void status(const std::string& /*line*/) {}
    // A blob starts: total bytes, what happens ("Downloading", "Uploading").
    virtual void begin(const Digest& /*blob*/, int64_t /*total*/, const std::string& /*action*/) {}
    virtual void progress(const Digest& /*blob*/, int64_t /*done*/) {}
    // A blob is done: how ("Pull complete", "Already exists", "Mounted from x", "Pushed").
    virtual void end(const Digest& /*blob*/, const std::string& /*outcome*/) {}
};

}  // namespace berth::distribution
