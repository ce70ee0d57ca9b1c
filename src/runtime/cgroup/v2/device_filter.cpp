#include "runtime/cgroup/v2/device_filter.hpp"

#include <limits>

#include "common/error.hpp"

namespace berth::runtime::cgroup::v2 {
namespace {

// Registers: r1 holds the context (struct bpf_cgroup_dev_ctx); the prologue loads
// r2 = device type, r3 = requested access bits, r4 = major, r5 = minor.
constexpr uint8_t R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5;

bpf_insn make(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}

class Assembler {
  public:
    using Label = size_t;

    Label new_label() {
        targets_.push_back(kUnbound);
        return targets_.size() - 1;
    }
    void bind(Label l) { targets_[l] = insns_.size(); }
    void emit(bpf_insn i) { insns_.push_back(i); }
    // A jump whose offset is filled in when the label is known.
    void jump(bpf_insn i, Label target) {
        fixups_.emplace_back(insns_.size(), target);
        used_.push_back(target);
        insns_.push_back(i);
    }
    [[nodiscard]] bool used(Label l) const {
        for (Label u : used_)
            if (u == l) return true;
        return false;
    }
    std::vector<bpf_insn> finish() {
        for (const auto& [at, label] : fixups_) {
            size_t target = targets_[label];
            if (target == kUnbound) throw Error("device filter: internal error (unbound label)");
            long off = static_cast<long>(target) - static_cast<long>(at) - 1;
            if (off < std::numeric_limits<int16_t>::min() ||
                off > std::numeric_limits<int16_t>::max())
                throw Error("linux.resources.devices: too many rules for one eBPF program");
            insns_[at].off = static_cast<int16_t>(off);
        }
        return std::move(insns_);
    }

  private:
    static constexpr size_t kUnbound = std::numeric_limits<size_t>::max();
    std::vector<bpf_insn> insns_;
    std::vector<size_t> targets_;
    std::vector<std::pair<size_t, Label>> fixups_;
    std::vector<Label> used_;
};

int32_t access_bit(char c) {
    switch (c) {
        case 'm':
            return BPF_DEVCG_ACC_MKNOD;
        case 'r':
            return BPF_DEVCG_ACC_READ;
        case 'w':
            return BPF_DEVCG_ACC_WRITE;
        default:
            return 0;
    }
}

int32_t access_mask(const std::string& access) {
    if (access.empty()) return BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
    int32_t mask = 0;
    for (char c : access)
        mask |= access_bit(c);
    return mask;
}

// The immediate for a 32-bit compare: the bit pattern of the unsigned device number.
int32_t imm32(int64_t value) {
    return static_cast<int32_t>(static_cast<uint32_t>(value));
}

}  // namespace

std::vector<bpf_insn> build_device_filter(const std::vector<oci::DeviceRule>& rules) {
    Assembler a;
    // Prologue.
    a.emit(make(BPF_LDX | BPF_MEM | BPF_W, R2, R1, 0, 0));      // r2 = access_type
    a.emit(make(BPF_ALU | BPF_MOV | BPF_X, R3, R2, 0, 0));      // r3 = r2
    a.emit(make(BPF_ALU | BPF_AND | BPF_K, R2, 0, 0, 0xffff));  // r2: type
    a.emit(make(BPF_ALU | BPF_RSH | BPF_K, R3, 0, 0, 16));      // r3: access
    a.emit(make(BPF_LDX | BPF_MEM | BPF_W, R4, R1, 4, 0));      // r4 = major
    a.emit(make(BPF_LDX | BPF_MEM | BPF_W, R5, R1, 8, 0));      // r5 = minor

    const auto deny = a.new_label();
    for (int32_t bit : {BPF_DEVCG_ACC_MKNOD, BPF_DEVCG_ACC_READ, BPF_DEVCG_ACC_WRITE}) {
        const auto next_bit = a.new_label();
        // Not requested: nothing to decide for this bit.
        a.emit(make(BPF_JMP | BPF_JSET | BPF_K, R3, 0, 1, bit));
        a.jump(make(BPF_JMP | BPF_JA, 0, 0, 0, 0), next_bit);
        bool decided = false;
        for (auto it = rules.rbegin(); it != rules.rend() && !decided; ++it) {
            const auto& rule = *it;
            if ((access_mask(rule.access) & bit) == 0) continue;
            const auto next_rule = a.new_label();
            bool conditional = false;
            if (rule.type == 'c' || rule.type == 'b') {
                int32_t type = rule.type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK;
                a.jump(make(BPF_JMP32 | BPF_JNE | BPF_K, R2, 0, 0, type), next_rule);
                conditional = true;
            }
            if (rule.major) {
                a.jump(make(BPF_JMP32 | BPF_JNE | BPF_K, R4, 0, 0, imm32(*rule.major)), next_rule);
                conditional = true;
            }
            if (rule.minor) {
                a.jump(make(BPF_JMP32 | BPF_JNE | BPF_K, R5, 0, 0, imm32(*rule.minor)), next_rule);
                conditional = true;
            }
            a.jump(make(BPF_JMP | BPF_JA, 0, 0, 0, 0), rule.allow ? next_bit : deny);
            a.bind(next_rule);
            // A rule that matches every device decides the bit: earlier rules cannot be reached
            // (and the verifier refuses unreachable instructions).
            decided = !conditional;
        }
        if (!decided) a.jump(make(BPF_JMP | BPF_JA, 0, 0, 0, 0), deny);  // no rule matched
        a.bind(next_bit);
    }
    a.emit(make(BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, 1));  // allow
    a.emit(make(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    if (a.used(deny)) {
        a.bind(deny);
        a.emit(make(BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, 0));
        a.emit(make(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    }
    return a.finish();
}

}  // namespace berth::runtime::cgroup::v2
