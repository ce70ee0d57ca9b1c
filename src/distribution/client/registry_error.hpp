// A registry answered with an error status: the status, the distribution error code when the
// body had one (MANIFEST_UNKNOWN, UNAUTHORIZED, ...), and a one-line message.
#pragma once

#include <string>

#include "common/error.hpp"

namespace berth::distribution {

class RegistryError : public Error {
  public:
    RegistryError(long status, std::string code, const std::string& message)
        : Error(message), status_(status), code_(std::move(code)) {}
    [[nodiscard]] long status() const { return status_; }
    [[nodiscard]] const std::string& code() const { return code_; }

  private:
    long status_;
    std::string code_;
};

}  // namespace berth::distribution
