#include "engine/container/seccomp_json.hpp"

namespace berth::engine {
namespace {

const char* op_name(oci::SeccompArgOp op) {
    switch (op) {
        case oci::SeccompArgOp::not_equal:
            return "SCMP_CMP_NE";
        case oci::SeccompArgOp::less_than:
            return "SCMP_CMP_LT";
        case oci::SeccompArgOp::less_equal:
            return "SCMP_CMP_LE";
        case oci::SeccompArgOp::equal_to:
            return "SCMP_CMP_EQ";
        case oci::SeccompArgOp::greater_equal:
            return "SCMP_CMP_GE";
        case oci::SeccompArgOp::greater_than:
            return "SCMP_CMP_GT";
        case oci::SeccompArgOp::masked_equal:
            return "SCMP_CMP_MASKED_EQ";
    }
    return "SCMP_CMP_EQ";
}

}  // namespace

nlohmann::ordered_json seccomp_to_json(const oci::Seccomp& s) {
    nlohmann::ordered_json out;
    out["defaultAction"] = s.default_action;
    if (s.default_errno_ret) out["defaultErrnoRet"] = *s.default_errno_ret;
    out["architectures"] = s.architectures;
    if (!s.flags.empty()) out["flags"] = s.flags;
    nlohmann::ordered_json rules = nlohmann::ordered_json::array();
    for (const auto& rule : s.syscalls) {
        nlohmann::ordered_json r;
        r["names"] = rule.names;
        r["action"] = rule.action;
        if (rule.errno_ret) r["errnoRet"] = *rule.errno_ret;
        if (!rule.args.empty()) {
            nlohmann::ordered_json args = nlohmann::ordered_json::array();
            for (const auto& a : rule.args)
                args.push_back({{"index", a.index},
                                {"value", a.value},
                                {"valueTwo", a.value_two},
                                {"op", op_name(a.op)}});
            r["args"] = args;
        }
        rules.push_back(r);
    }
    out["syscalls"] = rules;
    return out;
}

}  // namespace berth::engine
