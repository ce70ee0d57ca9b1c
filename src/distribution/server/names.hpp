// The spec's grammar for repository names and tags. A valid name has no "..", no empty
// component and no component starting with '_', so a name joined under the storage root
// can never reach outside it or into the storage's own "_manifests"-style folders.
#pragma once

#include <string_view>

namespace berth::registry {

inline constexpr size_t kMaxNameLength = 255;

// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
bool is_valid_repository_name(std::string_view name);
// [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
bool is_valid_tag(std::string_view tag);
// Upload session ids as this server makes them (32 lowercase hex digits).
bool is_valid_upload_id(std::string_view id);

}  // namespace berth::registry
