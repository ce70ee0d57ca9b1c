// Errors carry what failed, on what, and why; user-facing messages are one line.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace berth {

class Error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A failed system call: keeps errno so callers can branch on ENOENT, EBUSY, ...
class SystemError : public Error {
  public:
    SystemError(int code, const std::string& message) : Error(message), code_(code) {}
    [[nodiscard]] int code() const noexcept { return code_; }

  private:
    int code_;
};

// Formats "what path: strerror(code)" (or "what: strerror(code)" without a path).
[[noreturn]] void throw_system_error(int code, std::string_view what, std::string_view path = {});

// Same, with the current errno.
[[noreturn]] void throw_errno(std::string_view what, std::string_view path = {});

// Prefixes the message of the exception in flight with context, keeping its type.
[[noreturn]] void rethrow_with_context(std::string_view context);

}  // namespace berth
