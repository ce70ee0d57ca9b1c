// The distribution spec's error codes, their HTTP status, and the JSON error body
// {"errors":[{"code","message","detail"}]} every failed request is answered with.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace berth::registry {

enum class ErrorCode {
    blob_unknown,
    blob_upload_invalid,
    blob_upload_unknown,
    digest_invalid,
    manifest_blob_unknown,
    manifest_invalid,
    manifest_unknown,
    name_invalid,
    name_unknown,
    size_invalid,
    unauthorized,
    denied,
    unsupported,
    too_many_requests,
    range_invalid,  // 416 on an out-of-order chunk or an unsatisfiable Range
    tag_invalid,    // a reference that is neither a valid tag nor a digest
};

std::string_view code_name(ErrorCode code);  // "BLOB_UNKNOWN"
int default_status(ErrorCode code);          // 404, 400, ...

// Thrown by routes; the server turns it into the error body with its status and headers
// (WWW-Authenticate for UNAUTHORIZED, Range for a chunk out of order).
class ApiError : public Error {
  public:
    ApiError(ErrorCode code, const std::string& message, int status = 0)
        : Error(message), code_(code), status_(status ? status : default_status(code)) {}
    [[nodiscard]] ErrorCode code() const { return code_; }
    [[nodiscard]] int status() const { return status_; }
    std::vector<std::pair<std::string, std::string>> headers;
    std::string detail;

  private:
    ErrorCode code_;
    int status_;
};

// {"errors":[{"code":"...","message":"...","detail":...}]}; bytes that are not UTF-8 are
// written as "\xHH". Never throws.
std::string error_body(ErrorCode code, std::string_view message,
                       std::string_view detail = {}) noexcept;

}  // namespace berth::registry
