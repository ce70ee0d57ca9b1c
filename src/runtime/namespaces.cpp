#include "runtime/namespaces.hpp"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/strings.hpp"
#include "common/user_namespace.hpp"

namespace berth::runtime {

std::vector<NamespaceToJoin> open_namespaces_to_join(const oci::Linux& linux) {
    std::vector<NamespaceToJoin> out;
    for (size_t i = 0; i < linux.namespaces.size(); ++i) {
        const auto& ns = linux.namespaces[i];
        if (ns.path.empty()) continue;
        std::string field = "linux.namespaces[" + std::to_string(i) + "].path";
        int fd = ::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw_errno(field + ": open", ns.path);
        UniqueFd owned(fd);
        int type = ::ioctl(owned.get(), NS_GET_NSTYPE);
        if (type < 0) throw Error(field + ": " + ns.path + " is not a namespace file");
        if (type != oci::namespace_clone_flag(ns.type))
            throw Error(field + ": " + ns.path + " is not a " + oci::namespace_type_name(ns.type) +
                        " namespace");
        NamespaceToJoin join{ns.type, ns.path, std::move(owned)};
        if (ns.type == oci::NamespaceType::user)
            out.insert(out.begin(), std::move(join));
        else
            out.push_back(std::move(join));
    }
    return out;
}

void join_namespaces(const std::vector<NamespaceToJoin>& namespaces) {
    for (const auto& ns : namespaces) {
        if (::setns(ns.fd.get(), oci::namespace_clone_flag(ns.type)) < 0)
            throw_errno(std::string("join ") + oci::namespace_type_name(ns.type) + " namespace",
                        ns.path);
    }
}

int new_namespace_flags(const oci::Linux& linux) {
    int flags = 0;
    for (const auto& ns : linux.namespaces)
        if (ns.path.empty()) flags |= oci::namespace_clone_flag(ns.type);
    return flags;
}

namespace {

std::string map_text(const std::vector<oci::IdMapping>& mappings) {
    std::string text;
    for (const auto& m : mappings)
        text += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " +
                std::to_string(m.size) + "\n";
    return text;
}

bool maps_only_self(const std::vector<oci::IdMapping>& mappings, uint32_t self) {
    return mappings.size() == 1 && mappings[0].size == 1 && mappings[0].host_id == self;
}

// newuidmap/newgidmap check the ranges against /etc/subuid and /etc/subgid; their complaint
// becomes part of our one-line error.
void run_map_helper(const char* helper, const char* field, pid_t pid,
                    const std::vector<oci::IdMapping>& mappings) {
    std::vector<std::string> args{helper, std::to_string(pid)};
    for (const auto& m : mappings) {
        args.push_back(std::to_string(m.container_id));
        args.push_back(std::to_string(m.host_id));
        args.push_back(std::to_string(m.size));
    }
    std::vector<char*> argv = c_string_array(args);
    int err[2];
    if (::pipe2(err, O_CLOEXEC) < 0) throw_errno("pipe");
    UniqueFd read_end(err[0]), write_end(err[1]);
    pid_t child = ::fork();
    if (child < 0) throw_errno("fork");
    if (child == 0) {
        ::dup2(write_end.get(), STDERR_FILENO);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execvp(helper, argv.data());
        _exit(127);
    }
    write_end.reset();
    std::string output;
    try {
        output = read_fd(read_end.get(), helper);
    } catch (const std::exception&) {
        // The exit status below still says whether it worked.
    }
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
    std::string why;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        why = "not found (install uidmap)";
    } else {
        for (const auto& line : split(std::string(trim(output)), '\n')) {
            std::string_view text = trim(line);
            if (text.rfind(std::string(helper) + ": ", 0) == 0)
                text.remove_prefix(strlen(helper) + 2);
            if (text.empty()) continue;
            if (!why.empty()) why += "; ";
            why += text;
        }
        if (why.empty()) why = "failed";
        why += " (this user's ranges are in ";
        why += std::string_view(helper) == "newuidmap" ? "/etc/subuid)" : "/etc/subgid)";
    }
    throw Error(std::string(field) + ": " + join(args, " ") + ": " + why);
}

}  // namespace

void write_id_mappings(pid_t pid, const std::vector<oci::IdMapping>& uid_mappings,
                       const std::vector<oci::IdMapping>& gid_mappings) {
    std::string proc = "/proc/" + std::to_string(pid);
    const bool root = ::geteuid() == 0;
    if (root || maps_only_self(uid_mappings, ::geteuid())) {
        write_existing_file(proc + "/uid_map", map_text(uid_mappings));
    } else {
        run_map_helper("newuidmap", "linux.uidMappings", pid, uid_mappings);
    }
    if (root) {
        write_existing_file(proc + "/gid_map", map_text(gid_mappings));
    } else if (maps_only_self(gid_mappings, ::getegid())) {
        // An unprivileged writer of gid_map must first give up setgroups(2).
        write_existing_file(proc + "/setgroups", "deny");
        write_existing_file(proc + "/gid_map", map_text(gid_mappings));
    } else {
        run_map_helper("newgidmap", "linux.gidMappings", pid, gid_mappings);
    }
}

void write_time_offsets(const oci::Linux& linux) {
    if (linux.time_offsets.empty()) return;
    std::string text;
    for (const auto& [clock, offset] : linux.time_offsets)
        text += clock + " " + std::to_string(offset.secs) + " " + std::to_string(offset.nanosecs) +
                "\n";
    write_existing_file("/proc/self/timens_offsets", text);
}

void bring_loopback_up() {
    UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock) throw_errno("socket for the loopback interface");
    ifreq request{};
    std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    if (::ioctl(sock.get(), SIOCGIFFLAGS, &request) < 0) throw_errno("read the flags of lo");
    if (request.ifr_flags & IFF_UP) return;
    request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
    if (::ioctl(sock.get(), SIOCSIFFLAGS, &request) < 0) throw_errno("set lo up");
}

bool in_child_user_namespace() {
    return !in_initial_user_namespace();
}

}  // namespace berth::runtime
