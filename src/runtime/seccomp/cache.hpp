// Compiled BPF programs on disk, so that starting another container with the same profile
// skips libseccomp. An entry is found by a hash of its key and used only if the whole key, stored
// in it, is equal: a hash collision or a damaged file means a miss, never a wrong filter.
#pragma once

#include <linux/filter.h>

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace berth::runtime::seccomp::cache {

std::optional<std::vector<sock_filter>> lookup(const std::string& dir, const std::string& key);
void store(const std::string& dir, const std::string& key, std::span<const sock_filter> program);

}  // namespace berth::runtime::seccomp::cache
