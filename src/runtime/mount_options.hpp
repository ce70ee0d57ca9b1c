// OCI mount options -> mount(2) flags, propagation, mount_setattr(2) attributes and data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace berth::runtime {

struct MountOptions {
    unsigned long flags = 0;        // MS_* to set (MS_RDONLY, MS_NOSUID, ... MS_BIND, MS_REC)
    unsigned long cleared = 0;      // MS_* explicitly turned off ("rw", "suid", "exec", ...)
    unsigned long propagation = 0;  // MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (| MS_REC)
    uint64_t recursive_set = 0;     // MOUNT_ATTR_* from "rro", "rnosuid", ... (AT_RECURSIVE)
    uint64_t recursive_clear = 0;
    bool bind = false;
    bool recursive_bind = false;
    bool idmap = false;  // "idmap" / "ridmap"
    bool recursive_idmap = false;
    bool tmpcopyup = false;
    std::string data;  // everything else, comma-joined, for the filesystem
};

MountOptions parse_mount_options(const std::vector<std::string>& options);

// The MS_* flags that describe per-mount attributes (as opposed to operations).
constexpr unsigned long kMountAttributeFlags = 0x1 /*RDONLY*/ | 0x2 /*NOSUID*/ | 0x4 /*NODEV*/ |
                                               0x8 /*NOEXEC*/ | 0x400 /*NOATIME*/ |
                                               0x800 /*NODIRATIME*/ | 0x200000 /*RELATIME*/ |
                                               0x1000000 /*STRICTATIME*/ | 0x100 /*NOSYMFOLLOW*/;

}  // namespace berth::runtime
