// The names of the OCI seccomp profile (actions, architectures, flags, operators) and what
// they mean to libseccomp and the kernel. Tables only; seccomp.cpp does the checking.
#pragma once

#include <seccomp.h>

#include <cstdint>
#include <span>
#include <string_view>

#include "oci/runtime_spec.hpp"

namespace berth::runtime::seccomp {

enum class ActionKind { kill_thread, kill_process, trap, errno_ret, trace, allow, log, notify };

struct ActionName {
    std::string_view name;  // "SCMP_ACT_ERRNO"
    ActionKind kind;
    unsigned min_api;  // seccomp_api_get() level the kernel needs for it
};

struct ArchName {
    std::string_view name;  // "SCMP_ARCH_X86_64"
    uint32_t token;         // SCMP_ARCH_X86_64 (an AUDIT_ARCH_* value)
};

struct FlagName {
    std::string_view name;       // "SECCOMP_FILTER_FLAG_LOG"
    bool supported;              // false: recognized, but berth-runtime cannot honour it
    scmp_filter_attr attribute;  // the libseccomp attribute that asks for it
    unsigned kernel_flag;        // SECCOMP_FILTER_FLAG_* for seccomp(2)
    unsigned min_api;            // seccomp_api_get() level the kernel needs for it
};

struct OperatorName {
    std::string_view name;  // "SCMP_CMP_MASKED_EQ"
    oci::SeccompArgOp op;
    scmp_compare compare;
};

// All tables are sorted by name (features() lists them in this order).
std::span<const ActionName> actions();
std::span<const ArchName> archs();  // only those the linked libseccomp knows
std::span<const FlagName> flags();
std::span<const OperatorName> operators();

const ActionName* find_action(std::string_view name);
const ArchName* find_arch(std::string_view name);
const ArchName* find_arch(uint32_t token);
const FlagName* find_flag(std::string_view name);
const OperatorName* find_operator(oci::SeccompArgOp op);

}  // namespace berth::runtime::seccomp
