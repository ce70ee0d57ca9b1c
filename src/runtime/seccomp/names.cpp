#include "runtime/seccomp/names.hpp"

#include <linux/seccomp.h>

#include <algorithm>
#include <array>

namespace berth::runtime::seccomp {
namespace {

// seccomp_api_get() levels (see seccomp_api_get(3)).
constexpr unsigned kApiBase = 1;
constexpr unsigned kApiTsync = 2;
constexpr unsigned kApiLogAndKillProcess = 3;
constexpr unsigned kApiSpecAllow = 4;

constexpr std::array kActions = {
    ActionName{"SCMP_ACT_ALLOW", ActionKind::allow, kApiBase},
    ActionName{"SCMP_ACT_ERRNO", ActionKind::errno_ret, kApiBase},
    ActionName{"SCMP_ACT_KILL", ActionKind::kill_thread, kApiBase},
    ActionName{"SCMP_ACT_KILL_PROCESS", ActionKind::kill_process, kApiLogAndKillProcess},
    ActionName{"SCMP_ACT_KILL_THREAD", ActionKind::kill_thread, kApiBase},
    ActionName{"SCMP_ACT_LOG", ActionKind::log, kApiLogAndKillProcess},
    ActionName{"SCMP_ACT_NOTIFY", ActionKind::notify, 5},
    ActionName{"SCMP_ACT_TRACE", ActionKind::trace, kApiBase},
    ActionName{"SCMP_ACT_TRAP", ActionKind::trap, kApiBase},
};

// Architectures appear here only when the libseccomp we build against defines them
// (2.5.4 lacks LoongArch, m68k and SuperH, which the runtime spec already names).
constexpr std::array kArchs = {
    ArchName{"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    ArchName{"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
#ifdef SCMP_ARCH_LOONGARCH64
    ArchName{"SCMP_ARCH_LOONGARCH64", SCMP_ARCH_LOONGARCH64},
#endif
#ifdef SCMP_ARCH_M68K
    ArchName{"SCMP_ARCH_M68K", SCMP_ARCH_M68K},
#endif
    ArchName{"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    ArchName{"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    ArchName{"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    ArchName{"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    ArchName{"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    ArchName{"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    ArchName{"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    ArchName{"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    ArchName{"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    ArchName{"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    ArchName{"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    ArchName{"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
    ArchName{"SCMP_ARCH_S390", SCMP_ARCH_S390},
    ArchName{"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
#ifdef SCMP_ARCH_SH
    ArchName{"SCMP_ARCH_SH", SCMP_ARCH_SH},
    ArchName{"SCMP_ARCH_SHEB", SCMP_ARCH_SHEB},
#endif
    ArchName{"SCMP_ARCH_X32", SCMP_ARCH_X32},
    ArchName{"SCMP_ARCH_X86", SCMP_ARCH_X86},
    ArchName{"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
};

// SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV only has a meaning together with a notification
// listener (the kernel refuses it without SECCOMP_FILTER_FLAG_NEW_LISTENER), and libseccomp
// 2.5 cannot ask for it, so it is recognized but unsupported.
constexpr std::array kFlags = {
    FlagName{"SECCOMP_FILTER_FLAG_LOG", true, SCMP_FLTATR_CTL_LOG, SECCOMP_FILTER_FLAG_LOG,
             kApiLogAndKillProcess},
    FlagName{"SECCOMP_FILTER_FLAG_SPEC_ALLOW", true, SCMP_FLTATR_CTL_SSB,
             SECCOMP_FILTER_FLAG_SPEC_ALLOW, kApiSpecAllow},
    FlagName{"SECCOMP_FILTER_FLAG_TSYNC", true, SCMP_FLTATR_CTL_TSYNC, SECCOMP_FILTER_FLAG_TSYNC,
             kApiTsync},
    FlagName{"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", false, _SCMP_FLTATR_MIN,
             SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, 7},
};

constexpr std::array kOperators = {
    OperatorName{"SCMP_CMP_EQ", oci::SeccompArgOp::equal_to, SCMP_CMP_EQ},
    OperatorName{"SCMP_CMP_GE", oci::SeccompArgOp::greater_equal, SCMP_CMP_GE},
    OperatorName{"SCMP_CMP_GT", oci::SeccompArgOp::greater_than, SCMP_CMP_GT},
    OperatorName{"SCMP_CMP_LE", oci::SeccompArgOp::less_equal, SCMP_CMP_LE},
    OperatorName{"SCMP_CMP_LT", oci::SeccompArgOp::less_than, SCMP_CMP_LT},
    OperatorName{"SCMP_CMP_MASKED_EQ", oci::SeccompArgOp::masked_equal, SCMP_CMP_MASKED_EQ},
    OperatorName{"SCMP_CMP_NE", oci::SeccompArgOp::not_equal, SCMP_CMP_NE},
};

template <class Table, class Key, class Projection>
auto* find_in(const Table& table, const Key& key, Projection projection) {
    auto it = std::find_if(table.begin(), table.end(),
                           [&](const auto& entry) { return projection(entry) == key; });
    return it == table.end() ? nullptr : &*it;
}

}  // namespace

std::span<const ActionName> actions() {
    return kActions;
}
std::span<const ArchName> archs() {
    return kArchs;
}
std::span<const FlagName> flags() {
    return kFlags;
}
std::span<const OperatorName> operators() {
    return kOperators;
}

const ActionName* find_action(std::string_view name) {
    return find_in(kActions, name, [](const ActionName& a) { return a.name; });
}

const ArchName* find_arch(std::string_view name) {
    return find_in(kArchs, name, [](const ArchName& a) { return a.name; });
}

const ArchName* find_arch(uint32_t token) {
    return find_in(kArchs, token, [](const ArchName& a) { return a.token; });
}

const FlagName* find_flag(std::string_view name) {
    return find_in(kFlags, name, [](const FlagName& f) { return f.name; });
}

const OperatorName* find_operator(oci::SeccompArgOp op) {
    return find_in(kOperators, op, [](const OperatorName& o) { return o.op; });
}

}  // namespace berth::runtime::seccomp
