#include "runtime/mount_options.hpp"

#include <sys/mount.h>

#include <cstring>

namespace berth::runtime {
namespace {

struct FlagOption {
    const char* name;
    bool clear;
    unsigned long flag;
};

constexpr FlagOption kFlagOptions[] = {
    {"defaults", false, 0},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"suid", true, MS_NOSUID},
    {"nosuid", false, MS_NOSUID},
    {"dev", true, MS_NODEV},
    {"nodev", false, MS_NODEV},
    {"exec", true, MS_NOEXEC},
    {"noexec", false, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"lazytime", false, MS_LAZYTIME},
    {"nolazytime", true, MS_LAZYTIME},
    {"silent", false, MS_SILENT},
    {"loud", true, MS_SILENT},
    {"iversion", false, MS_I_VERSION},
    {"noiversion", true, MS_I_VERSION},
    {"nosymfollow", false, 256 /* MS_NOSYMFOLLOW */},
    {"symfollow", true, 256},
};

struct PropagationOption {
    const char* name;
    unsigned long flags;
};

constexpr PropagationOption kPropagationOptions[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

struct AttrOption {
    const char* name;
    bool clear;
    uint64_t attr;
};

constexpr AttrOption kRecursiveAttrs[] = {
    {"rro", false, MOUNT_ATTR_RDONLY},
    {"rrw", true, MOUNT_ATTR_RDONLY},
    {"rnosuid", false, MOUNT_ATTR_NOSUID},
    {"rsuid", true, MOUNT_ATTR_NOSUID},
    {"rnodev", false, MOUNT_ATTR_NODEV},
    {"rdev", true, MOUNT_ATTR_NODEV},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC},
    {"rexec", true, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME},
    {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW},
    {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
};

// Access-time modes replace each other, so setting one clears the whole _ATIME field.
struct AtimeOption {
    const char* name;
    uint64_t mode;
};
constexpr AtimeOption kRecursiveAtime[] = {
    {"rrelatime", MOUNT_ATTR_RELATIME},
    {"rnoatime", MOUNT_ATTR_NOATIME},
    {"rstrictatime", MOUNT_ATTR_STRICTATIME},
};

}  // namespace

MountOptions parse_mount_options(const std::vector<std::string>& options) {
    MountOptions out;
    for (const auto& option : options) {
        const char* name = option.c_str();
        bool matched = false;
        if (option == "bind" || option == "rbind") {
            out.bind = true;
            out.recursive_bind = out.recursive_bind || option == "rbind";
            continue;
        }
        if (option == "idmap" || option == "ridmap") {
            out.idmap = true;
            out.recursive_idmap = out.recursive_idmap || option == "ridmap";
            continue;
        }
        if (option == "tmpcopyup") {
            out.tmpcopyup = true;
            continue;
        }
        for (const auto& f : kFlagOptions) {
            if (std::strcmp(name, f.name) != 0) continue;
            if (f.clear) {
                out.flags &= ~f.flag;
                out.cleared |= f.flag;
            } else {
                out.flags |= f.flag;
                out.cleared &= ~f.flag;
            }
            matched = true;
            break;
        }
        if (matched) continue;
        for (const auto& p : kPropagationOptions) {
            if (std::strcmp(name, p.name) == 0) {
                out.propagation = p.flags;
                matched = true;
                break;
            }
        }
        if (matched) continue;
        for (const auto& a : kRecursiveAttrs) {
            if (std::strcmp(name, a.name) != 0) continue;
            if (a.clear) {
                out.recursive_clear |= a.attr;
                out.recursive_set &= ~a.attr;
            } else {
                out.recursive_set |= a.attr;
                out.recursive_clear &= ~a.attr;
            }
            matched = true;
            break;
        }
        if (matched) continue;
        for (const auto& a : kRecursiveAtime) {
            if (std::strcmp(name, a.name) != 0) continue;
            out.recursive_set = (out.recursive_set & ~MOUNT_ATTR__ATIME) | a.mode;
            out.recursive_clear |= MOUNT_ATTR__ATIME;
            matched = true;
            break;
        }
        if (matched) continue;
        if (!out.data.empty()) out.data += ',';
        out.data += option;
    }
    return out;
}

}  // namespace berth::runtime
