#include "runtime/devices.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>

#include "common/error.hpp"
#include "common/path.hpp"

namespace berth::runtime {
namespace {

oci::Device char_device(const char* path, int64_t major, int64_t minor) {
    oci::Device d;
    d.path = path;
    d.type = 'c';
    d.major = major;
    d.minor = minor;
    d.file_mode = 0666;
    d.uid = 0;
    d.gid = 0;
    return d;
}

oci::DeviceRule allow(char type, std::optional<int64_t> major, std::optional<int64_t> minor,
                      const char* access) {
    oci::DeviceRule r;
    r.allow = true;
    r.type = type;
    r.major = major;
    r.minor = minor;
    r.access = access;
    return r;
}

const std::vector<oci::Device>& default_devices() {
    static const std::vector<oci::Device> devices = {
        char_device("/dev/null", 1, 3),    char_device("/dev/zero", 1, 5),
        char_device("/dev/full", 1, 7),    char_device("/dev/random", 1, 8),
        char_device("/dev/urandom", 1, 9), char_device("/dev/tty", 5, 0),
    };
    return devices;
}

bool overridden(const oci::Linux& linux, const std::string& path) {
    for (const auto& d : linux.devices)
        if (clean_path(d.path) == path) return true;
    return false;
}

}  // namespace

std::vector<oci::Device> container_devices(const oci::Linux& linux) {
    std::vector<oci::Device> out;
    for (const auto& d : default_devices())
        if (!overridden(linux, d.path)) out.push_back(d);
    out.insert(out.end(), linux.devices.begin(), linux.devices.end());
    return out;
}

std::vector<oci::DeviceRule> device_cgroup_rules(const oci::Linux& linux) {
    std::vector<oci::DeviceRule> rules;
    if (linux.resources) rules = linux.resources->devices;
    rules.push_back(allow('c', std::nullopt, std::nullopt, "m"));
    rules.push_back(allow('b', std::nullopt, std::nullopt, "m"));
    for (const auto& d : default_devices())
        if (!overridden(linux, d.path)) rules.push_back(allow('c', d.major, d.minor, "rwm"));
    rules.push_back(allow('c', 136, std::nullopt, "rwm"));  // /dev/pts/*
    rules.push_back(allow('c', 5, 2, "rwm"));               // /dev/ptmx
    rules.push_back(allow('c', 10, 200, "rwm"));            // /dev/net/tun
    return rules;
}

void create_device_nodes(int root_fd, const std::vector<oci::Device>& devices,
                         bool bind_from_host) {
    std::string parent_dir;
    UniqueFd parent;
    for (const auto& d : devices) {
        std::string path = clean_path(d.path);
        if (!parent || parent_path(path) != parent_dir) {  // usually all in /dev: look it up once
            parent_dir = parent_path(path);
            parent = mkdir_all_in_root(root_fd, parent_dir);
        }
        std::string name = base_name(path);
        // Whatever the image left at this path (a file, an old node) gives way to the device.
        if (::unlinkat(parent.get(), name.c_str(), 0) < 0 && errno != ENOENT && errno != EISDIR)
            throw_errno("remove", path);
        if (bind_from_host) {
            int fd = ::openat(parent.get(), name.c_str(),
                              O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0);
            if (fd < 0) throw_errno("create", path);
            ::close(fd);
            UniqueFd target = open_in_root(root_fd, path, O_PATH);
            if (::mount(d.path.c_str(), fd_path(target.get()).c_str(), nullptr, MS_BIND, nullptr) <
                0)
                throw_errno("bind-mount device", d.path);
            continue;
        }
        mode_t type = d.type == 'b' ? S_IFBLK : d.type == 'p' ? S_IFIFO : S_IFCHR;
        mode_t mode = static_cast<mode_t>(d.file_mode.value_or(0666) & 07777);
        dev_t dev = d.type == 'p'
                        ? 0
                        : makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor));
        if (::mknodat(parent.get(), name.c_str(), type | mode, dev) < 0) throw_errno("mknod", path);
        // mknod outside a user namespace: the node is root's already.
        const bool owned_by_root = d.uid.value_or(0) == 0 && d.gid.value_or(0) == 0;
        if (!owned_by_root && ::fchownat(parent.get(), name.c_str(), d.uid.value_or(0),
                                         d.gid.value_or(0), AT_SYMLINK_NOFOLLOW) < 0)
            throw_errno("chown", path);
    }
}

void create_dev_symlinks(int root_fd) {
    UniqueFd dev = mkdir_all_in_root(root_fd, "/dev");
    struct Link {
        const char* target;
        const char* name;
    };
    static const Link links[] = {
        {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
        {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},
    };
    for (const auto& link : links) {
        if (std::string(link.name) == "ptmx") ::unlinkat(dev.get(), "ptmx", 0);
        if (::symlinkat(link.target, dev.get(), link.name) < 0 && errno != EEXIST)
            throw_errno("symlink", std::string("/dev/") + link.name);
    }
    if (::access("/proc/kcore", F_OK) == 0) {
        if (::symlinkat("/proc/kcore", dev.get(), "core") < 0 && errno != EEXIST)
            throw_errno("symlink", "/dev/core");
    }
}

}  // namespace berth::runtime
