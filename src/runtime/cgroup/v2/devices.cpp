// v2 devices: the rule list as an eBPF program (see device_filter.cpp) attached to the cgroup
// directory with raw bpf(2) calls. An update attaches the new program before detaching the
// old ones, so that no moment is left without a filter.
#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/log.hpp"
#include "runtime/cgroup/controllers.hpp"
#include "runtime/cgroup/v2/device_filter.hpp"

namespace berth::runtime::cgroup::v2 {
namespace {

uint64_t to_u64(const void* p) {
    return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p));
}

long sys_bpf(int cmd, bpf_attr& attr) {
    long r;
    int eagain = 0;
    do {
        r = ::syscall(SYS_bpf, cmd, &attr, sizeof attr);
    } while (r < 0 &&
             (errno == EINTR || (errno == EAGAIN && cmd == BPF_PROG_LOAD && ++eagain < 30)));
    return r;
}

UniqueFd load(const std::vector<bpf_insn>& insns) {
    bpf_attr attr{};
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insn_cnt = static_cast<uint32_t>(insns.size());
    attr.insns = to_u64(insns.data());
    attr.license = to_u64(kDeviceFilterLicense);
    long fd = sys_bpf(BPF_PROG_LOAD, attr);
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    const int code = errno;
    // Load again with the verifier's log, to say why.
    std::vector<char> log(64 * 1024, '\0');
    attr.log_level = 1;
    attr.log_size = static_cast<uint32_t>(log.size());
    attr.log_buf = to_u64(log.data());
    fd = sys_bpf(BPF_PROG_LOAD, attr);
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    std::string verifier(log.data(), strnlen(log.data(), log.size()));
    while (!verifier.empty() && verifier.back() == '\n')
        verifier.pop_back();
    if (auto nl = verifier.rfind('\n'); nl != std::string::npos) verifier.erase(0, nl + 1);
    throw SystemError(
        code, std::string("linux.resources.devices: cannot load the device eBPF program: ") +
                  std::strerror(code) + (verifier.empty() ? "" : " (" + verifier + ")"));
}

std::vector<uint32_t> attached_ids(int cgroup_fd, const std::string& dir) {
    std::vector<uint32_t> ids(64);
    for (int attempt = 0; attempt < 5; ++attempt) {
        bpf_attr attr{};
        attr.query.target_fd = static_cast<uint32_t>(cgroup_fd);
        attr.query.attach_type = BPF_CGROUP_DEVICE;
        attr.query.prog_ids = to_u64(ids.data());
        attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
        if (sys_bpf(BPF_PROG_QUERY, attr) == 0) {
            ids.resize(attr.query.prog_cnt);
            return ids;
        }
        if (errno != ENOSPC) throw_errno("bpf(BPF_PROG_QUERY) on", dir);
        ids.resize(static_cast<size_t>(attr.query.prog_cnt) + 16);
    }
    throw Error("bpf(BPF_PROG_QUERY) on " + dir + ": the list of programs keeps growing");
}

}  // namespace

void apply_devices(const std::string& dir, const std::vector<oci::DeviceRule>& rules) {
    UniqueFd cgroup = open_file(dir, O_RDONLY | O_DIRECTORY);
    UniqueFd program = load(build_device_filter(rules));
    const std::vector<uint32_t> old = attached_ids(cgroup.get(), dir);

    bpf_attr attach{};
    attach.target_fd = static_cast<uint32_t>(cgroup.get());
    attach.attach_bpf_fd = static_cast<uint32_t>(program.get());
    attach.attach_type = BPF_CGROUP_DEVICE;
    attach.attach_flags = BPF_F_ALLOW_MULTI;
    if (sys_bpf(BPF_PROG_ATTACH, attach) < 0)
        throw_errno("linux.resources.devices: cannot attach the device eBPF program to", dir);

    for (uint32_t id : old) {
        bpf_attr get{};
        get.prog_id = id;
        long fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, get);
        if (fd < 0) {
            if (errno == ENOENT) continue;  // gone meanwhile
            throw_errno("bpf(BPF_PROG_GET_FD_BY_ID " + std::to_string(id) + ") for", dir);
        }
        UniqueFd old_program(static_cast<int>(fd));
        bpf_attr detach{};
        detach.target_fd = static_cast<uint32_t>(cgroup.get());
        detach.attach_bpf_fd = static_cast<uint32_t>(old_program.get());
        detach.attach_type = BPF_CGROUP_DEVICE;
        if (sys_bpf(BPF_PROG_DETACH, detach) < 0 && errno != ENOENT)
            throw_errno(
                "cannot detach the previous device eBPF program " + std::to_string(id) + " from",
                dir);
    }
}

}  // namespace berth::runtime::cgroup::v2
