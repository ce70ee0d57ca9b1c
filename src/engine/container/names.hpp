// Random identifiers: container ids (64 hex digits, as docker's) and the readable names
// given to containers that were not named ("berth_" and a short id: no word lists).
#pragma once

#include <string>

namespace berth::engine {

std::string random_hex(size_t bytes);
std::string generated_name(const std::string& id);

}  // namespace berth::engine
