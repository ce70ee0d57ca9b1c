#include "distribution/server/access_log.hpp"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/strings.hpp"
#include "common/time.hpp"

namespace berth::registry {

void write_access_log(const AccessRecord& record) {
    const nlohmann::json line{
        {"time", rfc3339_now(false)},
        {"remote", record.remote},
        {"method", record.method},
        {"path", escape_invalid_utf8(record.target)},
        {"route", record.route},
        {"status", record.status},
        {"bytes_in", record.bytes_in},
        {"bytes_out", record.bytes_out},
        {"duration_ms", static_cast<double>(record.duration.count()) / 1000.0},
        {"user_agent", escape_invalid_utf8(record.user_agent)}};
    const std::string text =
        line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    (void)::write(STDERR_FILENO, text.data(), text.size());
}

}  // namespace berth::registry
