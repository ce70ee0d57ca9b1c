#include "runtime/mounts.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/error.hpp"
#include "common/log.hpp"
#include "common/path.hpp"
#include "runtime/copy_tree.hpp"
#include "runtime/mount_api.hpp"
#include "runtime/mount_options.hpp"

namespace berth::runtime {
namespace {

std::string field_name(size_t index) {
    return "mounts[" + std::to_string(index) + "]";
}

// MS_* atime flags -> the MOUNT_ATTR__ATIME field of mount_setattr.
void add_atime_attributes(const MountOptions& o, uint64_t& set, uint64_t& clear) {
    if (o.flags & MS_NOATIME) {
        set |= MOUNT_ATTR_NOATIME;
        clear |= MOUNT_ATTR__ATIME;
    } else if (o.flags & MS_STRICTATIME) {
        set |= MOUNT_ATTR_STRICTATIME;
        clear |= MOUNT_ATTR__ATIME;
    } else if (o.flags & MS_RELATIME) {
        clear |= MOUNT_ATTR__ATIME;  // MOUNT_ATTR_RELATIME is 0
    }
}

// Propagation and recursive attributes, applied to the mount now on top of `target`.
void apply_after_mount(int root_fd, const std::string& target, const MountOptions& o) {
    if (o.propagation == 0 && o.recursive_set == 0 && o.recursive_clear == 0) return;
    // Re-resolve: the fd taken before mounting still points at the covered directory.
    UniqueFd top = open_in_root(root_fd, target, O_PATH);
    if (o.propagation != 0 &&
        ::mount(nullptr, fd_path(top.get()).c_str(), nullptr, o.propagation, nullptr) < 0)
        throw_errno("set propagation of", target);
    set_mount_attributes(top.get(), o.recursive_set, o.recursive_clear, true, target);
}

void bind_mount(const RootfsContext& ctx, int root_fd, const oci::Mount& m, const MountOptions& o,
                const std::string& field) {
    std::string source = m.source;
    if (source.empty()) throw Error(field + ".source: a bind mount needs a source");
    if (!is_absolute_path(source)) source = join_path(ctx.bundle, source);
    struct stat st {};
    if (::stat(source.c_str(), &st) < 0) throw_errno(field + ".source: stat", source);
    UniqueFd target = S_ISDIR(st.st_mode) ? mkdir_all_in_root(root_fd, m.destination)
                                          : ensure_file_in_root(root_fd, m.destination);
    UniqueFd tree = clone_mount_tree(source, o.recursive_bind);
    uint64_t set = mount_attributes_from_flags(o.flags);
    uint64_t clear = mount_attributes_from_flags(o.cleared);
    add_atime_attributes(o, set, clear);
    set_mount_attributes(tree.get(), set, clear, false, m.destination);
    attach_mount_tree(tree.get(), target.get(), m.destination);
    apply_after_mount(root_fd, m.destination, o);
}

std::string with_mount_label(const RootfsContext& ctx, const std::string& data) {
    (void)ctx;  // SELinux mount labels: only where SELinux is enabled (see lsm.cpp).
    return data;
}

void mount_filesystem(const RootfsContext& ctx, int root_fd, const oci::Mount& m,
                      const MountOptions& o, const std::string& type, const std::string& field) {
    UniqueFd target = mkdir_all_in_root(root_fd, m.destination);
    std::string source = m.source.empty() ? type : m.source;
    std::string data = with_mount_label(ctx, o.data);
    unsigned long flags = o.flags & ~MS_REC;
    if (flags & MS_REMOUNT) {
        if (::mount(nullptr, fd_path(target.get()).c_str(), nullptr, flags, data.c_str()) < 0)
            throw_errno(field + ": remount", m.destination);
        return;
    }
    UniqueFd original_content;
    if (o.tmpcopyup && type == "tmpfs")
        original_content = open_in_root(root_fd, m.destination, O_RDONLY | O_DIRECTORY);
    if (::mount(source.c_str(), fd_path(target.get()).c_str(), type.c_str(), flags, data.c_str()) <
        0) {
        int err = errno;
        // In a user namespace without its own network (or ipc) namespace the kernel refuses
        // sysfs (mqueue): bind the host's instead, read-only as runc does.
        if (err == EPERM && (type == "sysfs" || type == "mqueue")) {
            std::string host = type == "sysfs" ? "/sys" : "/dev/mqueue";
            UniqueFd tree = clone_mount_tree(host, type == "sysfs");
            set_mount_attributes(tree.get(), mount_attributes_from_flags(flags), 0, false,
                                 m.destination);
            attach_mount_tree(tree.get(), target.get(), m.destination);
            return;
        }
        throw_system_error(err, field + ": mount " + type + " on", m.destination);
    }
    if (original_content) {
        // tmpcopyup: the tmpfs starts with what the image had at that path.
        UniqueFd mounted = open_in_root(root_fd, m.destination, O_RDONLY | O_DIRECTORY);
        copy_tree(original_content.get(), mounted.get(), m.destination);
    }
    apply_after_mount(root_fd, m.destination, o);
}

std::string hierarchy_dir_name(const cgroup::Hierarchy& h) {
    if (h.unified) return "unified";
    if (h.controllers.rfind("name=", 0) == 0) return h.controllers.substr(5);
    return h.controllers;
}

void mount_cgroups(const RootfsContext& ctx, int root_fd, const oci::Mount& m,
                   const MountOptions& o, const std::string& field) {
    unsigned long flags = o.flags & ~(MS_REC | MS_BIND);
    uint64_t attrs = mount_attributes_from_flags(flags);
    UniqueFd target = mkdir_all_in_root(root_fd, m.destination);

    auto bind_placement = [&](const cgroup::Manager::Placement& p, int target_fd,
                              const std::string& what) {
        UniqueFd tree = clone_mount_tree(p.hierarchy.mountpoint + p.path, false);
        set_mount_attributes(tree.get(), attrs, 0, false, what);
        attach_mount_tree(tree.get(), target_fd, what);
    };
    // Below the fresh tmpfs, by name: nothing in it can be a symlink.
    auto bind_placement_at = [&](const cgroup::Manager::Placement& p, int dir_fd,
                                 const std::string& name, const std::string& what) {
        UniqueFd tree = clone_mount_tree(p.hierarchy.mountpoint + p.path, false);
        set_mount_attributes(tree.get(), attrs, 0, false, what);
        if (::move_mount(tree.get(), "", dir_fd, name.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0)
            throw_errno("mount on", what);
    };

    if (ctx.cgroup_mode == cgroup::Mode::v2) {
        if (ctx.new_cgroup_namespace) {
            if (::mount("cgroup2", fd_path(target.get()).c_str(), "cgroup2", flags, nullptr) < 0)
                throw_errno(field + ": mount cgroup2 on", m.destination);
        } else if (!ctx.cgroup_placements.empty()) {
            bind_placement(ctx.cgroup_placements.front(), target.get(), m.destination);
        }
        return;
    }
    // v1 and hybrid: a tmpfs with one directory per hierarchy, as the host has them.
    if (::mount("tmpfs", fd_path(target.get()).c_str(), "tmpfs",
                (flags & ~MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
        throw_errno(field + ": mount tmpfs on", m.destination);
    UniqueFd top = open_in_root(root_fd, m.destination, O_PATH | O_DIRECTORY);
    for (const auto& p : ctx.cgroup_placements) {
        std::string name = hierarchy_dir_name(p.hierarchy);
        std::string sub = m.destination + "/" + name;
        // The tmpfs was mounted a moment ago by us: nothing in it can be a symlink.
        if (::mkdirat(top.get(), name.c_str(), 0755) < 0) throw_errno("mkdir", sub);
        if (ctx.new_cgroup_namespace) {
            UniqueFd dir(
                ::openat(top.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!dir) throw_errno("open", sub);
            const char* fstype = p.hierarchy.unified ? "cgroup2" : "cgroup";
            const char* data = p.hierarchy.unified ? nullptr : p.hierarchy.controllers.c_str();
            if (::mount("cgroup", fd_path(dir.get()).c_str(), fstype, flags, data) < 0)
                throw_errno(field + ": mount cgroup on", sub);
        } else {
            bind_placement_at(p, top.get(), name, sub);
        }
        // Co-mounted controllers ("cpu,cpuacct") are also reachable by each name.
        if (name.find(',') != std::string::npos) {
            for (size_t start = 0; start <= name.size();) {
                size_t end = name.find(',', start);
                if (end == std::string::npos) end = name.size();
                std::string one = name.substr(start, end - start);
                if (::symlinkat(name.c_str(), top.get(), one.c_str()) < 0 && errno != EEXIST)
                    throw_errno("symlink", m.destination + "/" + one);
                start = end + 1;
            }
        }
    }
    if (flags & MS_RDONLY)
        set_mount_attributes(top.get(), MOUNT_ATTR_RDONLY, 0, false, m.destination);
}

}  // namespace

void mount_entry(const RootfsContext& ctx, int root_fd, const oci::Mount& m, size_t index) {
    const std::string field = field_name(index);
    MountOptions o = parse_mount_options(m.options);
    if (o.idmap || !m.uid_mappings.empty() || !m.gid_mappings.empty())
        throw Error(field + ": idmapped mounts are not supported by berth-runtime yet");
    if (o.bind || m.type == "bind") {
        bind_mount(ctx, root_fd, m, o, field);
        return;
    }
    if (m.type.empty()) throw Error(field + ".type: a mount that is not a bind mount needs a type");
    if (m.type == "cgroup" || m.type == "cgroup2") {
        if (ctx.before_cgroups) ctx.before_cgroups();
        mount_cgroups(ctx, root_fd, m, o, field);
        return;
    }
    mount_filesystem(ctx, root_fd, m, o, m.type, field);
}

void make_path_readonly(const std::string& path) {
    // Called after pivot_root: "/" is the container's, so the path cannot lead out of it.
    int tree_fd =
        ::open_tree(AT_FDCWD, path.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    if (tree_fd < 0) {
        if (errno == ENOENT) return;
        throw_errno("readonlyPaths: bind", path);
    }
    UniqueFd tree(tree_fd);
    set_mount_attributes(tree.get(), MOUNT_ATTR_RDONLY, 0, true, path);
    if (::move_mount(tree.get(), "", AT_FDCWD, path.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0)
        throw_errno("readonlyPaths: mount on", path);
}

void mask_path(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) < 0) {
        if (errno == ENOENT) return;
        throw_errno("maskedPaths: stat", path);
    }
    if (S_ISDIR(st.st_mode)) {
        if (::mount("tmpfs", path.c_str(), "tmpfs", MS_RDONLY, "size=0") < 0)
            throw_errno("maskedPaths: mount tmpfs on", path);
    } else if (::mount("/dev/null", path.c_str(), nullptr, MS_BIND, nullptr) < 0) {
        throw_errno("maskedPaths: bind /dev/null on", path);
    }
}

}  // namespace berth::runtime
