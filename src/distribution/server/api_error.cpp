#include "distribution/server/api_error.hpp"

#include <nlohmann/json.hpp>

#include "common/strings.hpp"

namespace berth::registry {

std::string_view code_name(ErrorCode code) {
    switch (code) {
        case ErrorCode::blob_unknown:
            return "BLOB_UNKNOWN";
        case ErrorCode::blob_upload_invalid:
            return "BLOB_UPLOAD_INVALID";
        case ErrorCode::blob_upload_unknown:
            return "BLOB_UPLOAD_UNKNOWN";
        case ErrorCode::digest_invalid:
            return "DIGEST_INVALID";
        case ErrorCode::manifest_blob_unknown:
            return "MANIFEST_BLOB_UNKNOWN";
        case ErrorCode::manifest_invalid:
            return "MANIFEST_INVALID";
        case ErrorCode::manifest_unknown:
            return "MANIFEST_UNKNOWN";
        case ErrorCode::name_invalid:
            return "NAME_INVALID";
        case ErrorCode::name_unknown:
            return "NAME_UNKNOWN";
        case ErrorCode::size_invalid:
            return "SIZE_INVALID";
        case ErrorCode::unauthorized:
            return "UNAUTHORIZED";
        case ErrorCode::denied:
            return "DENIED";
        case ErrorCode::unsupported:
            return "UNSUPPORTED";
        case ErrorCode::too_many_requests:
            return "TOOMANYREQUESTS";
        case ErrorCode::range_invalid:
            return "BLOB_UPLOAD_INVALID";
        case ErrorCode::tag_invalid:
            return "TAG_INVALID";
    }
    return "UNKNOWN";
}

int default_status(ErrorCode code) {
    switch (code) {
        case ErrorCode::blob_unknown:
        case ErrorCode::blob_upload_unknown:
        case ErrorCode::manifest_unknown:
        case ErrorCode::name_unknown:
            return 404;
        case ErrorCode::blob_upload_invalid:
        case ErrorCode::digest_invalid:
        case ErrorCode::manifest_blob_unknown:
        case ErrorCode::manifest_invalid:
        case ErrorCode::name_invalid:
        case ErrorCode::size_invalid:
        case ErrorCode::tag_invalid:
            return 400;
        case ErrorCode::unauthorized:
            return 401;
        case ErrorCode::denied:
            return 403;
        case ErrorCode::unsupported:
            return 405;
        case ErrorCode::too_many_requests:
            return 429;
        case ErrorCode::range_invalid:
            return 416;
    }
    return 500;
}

std::string error_body(ErrorCode code, std::string_view message, std::string_view detail) noexcept {
    // Messages quote what the client sent (a name, a reference, a parser's complaint about a
    // body): bytes that are not UTF-8 would make the JSON dump throw, and the request would
    // go unanswered. They are shown escaped instead.
    try {
        nlohmann::json error{{"code", code_name(code)}, {"message", escape_invalid_utf8(message)}};
        if (!detail.empty()) error["detail"] = escape_invalid_utf8(detail);
        return nlohmann::json{{"errors", nlohmann::json::array({error})}}.dump(
            -1, ' ', false, nlohmann::json::error_handler_t::replace);
    } catch (...) {
        try {
            return R"({"errors":[{"code":")" + std::string(code_name(code)) +
                   R"(","message":""}]})";
        } catch (...) {
            return {};
        }
    }
}

}  // namespace berth::registry
