#include "common/error.hpp"

#include <cerrno>
#include <cstring>
#include <exception>

namespace berth {

void throw_system_error(int code, std::string_view what, std::string_view path) {
    std::string message(what);
    if (!path.empty()) {
        message += ' ';
        message += path;
    }
    message += ": ";
    message += std::strerror(code);
    throw SystemError(code, message);
}

void throw_errno(std::string_view what, std::string_view path) {
    throw_system_error(errno, what, path);
}

void rethrow_with_context(std::string_view context) {
    try {
        throw;
    } catch (const SystemError& e) {
        throw SystemError(e.code(), std::string(context) + ": " + e.what());
    } catch (const std::exception& e) {
        throw Error(std::string(context) + ": " + e.what());
    }
}

}  // namespace berth
