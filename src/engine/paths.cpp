#include "engine/paths.hpp"

#include <unistd.h>

#include <climits>
#include <cstdint>
#include <cstdio>

#include "common/path.hpp"
#include "engine/rootless/namespace.hpp"

namespace berth::engine {

namespace {

// The monitor runs in the container's directory and config.json names host paths: every
// path the engine records is absolute.
std::string absolute(const std::string& path) {
    if (is_absolute_path(path)) return clean_path(path);
    char cwd[PATH_MAX];
    if (!::getcwd(cwd, sizeof cwd)) return path;
    return clean_path(std::string(cwd) + "/" + path);
}

// A short stable name for a root: FNV-1a, 48 bits in hex. Not SHA-256: the first digest
// initialises OpenSSL (its configuration, its providers), ~1 ms of every engine command.
std::string name_hash(const std::string& text) {
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (unsigned char c : text) {
        hash ^= c;
        hash *= 0x100000001b3ULL;
    }
    char out[13];
    std::snprintf(out, sizeof out, "%012llx",
                  static_cast<unsigned long long>(hash & 0xffffffffffffULL));
    return out;
}

}  // namespace

EnginePaths::EnginePaths(const std::string& berth_root)
    : root(absolute(berth_root)),
      containers(root + "/containers"),
      volumes(root + "/volumes"),
      // Short: unix socket paths and bridge names are derived from what is under it.
      run((rootless() ? rootless_run_directory() : std::string("/run/berth")) + "/" +
          name_hash(root)),
      runtime_state(run + "/runtime"),
      netns(run + "/netns"),
      cni_leases(run + "/cni") {}

std::string helper_program(const std::string& name) {
    std::string beside = own_directory() + "/" + name;
    if (::access(beside.c_str(), X_OK) == 0) return beside;
    return name;
}

}  // namespace berth::engine
