// berth's configuration file (TOML), first found of: --config, $BERTH_CONFIG,
// $XDG_CONFIG_HOME/berth/berth.toml (~/.config/berth/berth.toml), /etc/berth/berth.toml.
//
//   [registries]
//   default = "docker.io"              # where short names ("busybox") go
//   short-names = "default"            # "default", "search" (try each of `search`), "reject"
//   search = ["docker.io", "quay.io"]
//   insecure = ["registry.lan:5000"]   # may use plain HTTP (loopback registries always may)
//   [aliases]
//   "busybox" = "docker.io/library/busybox"
//   [pull]
//   max-concurrent-downloads = 4
//   [auth]
//   file = "/root/.config/berth/auth.json"
//   [trust]
//   signature-policy = "/etc/berth/policy.json"   # containers-policy.json(5) format
//   registries-d = "/etc/berth/registries.d"      # containers-registries.d(5)
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "image/reference.hpp"

namespace berth::image {

enum class ShortNameMode { default_registry, search, reject };

struct Settings {
    std::string default_registry = std::string(kDockerHub);
    ShortNameMode short_names = ShortNameMode::default_registry;
    std::vector<std::string> search_registries;
    std::map<std::string, std::string> aliases;
    std::vector<std::string> insecure_registries;
    int max_concurrent_downloads = 4;
    std::string auth_file;         // empty: the default (see distribution/client/credentials.hpp)
    std::string signature_policy;  // empty: containers' usual places (trust/policy_check.hpp)
    std::string registries_d;
    std::string source;  // the file these came from; empty for built-in defaults

    // Plain HTTP allowed: loopback, or listed as insecure.
    [[nodiscard]] bool is_insecure(std::string_view registry) const;
    // What text may mean, in the order to try: one reference for a qualified name or an
    // alias; for a short name the default registry, or each search registry. Throws
    // InvalidReference (also for a short name in "reject" mode).
    [[nodiscard]] std::vector<Reference> candidates(std::string_view text) const;
    // The single reference for text (the first candidate).
    [[nodiscard]] Reference resolve(std::string_view text) const;
};

// Parses TOML text; errors name `source`, the line and the key.
Settings parse_settings(const std::string& text, const std::string& source);
// Loads explicit_path when given (must exist), else the first file that exists in the usual
// places, else the defaults.
Settings load_settings(const std::string& explicit_path = {});

}  // namespace berth::image
