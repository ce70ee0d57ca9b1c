// The v2 device filter is checked by running it: a small interpreter for the instructions
// the builder emits executes the program on (type, access, major, minor) requests.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <set>
#include <stdexcept>

#include "runtime/cgroup/controllers.hpp"
#include "runtime/cgroup/v2/device_filter.hpp"

using namespace berth::runtime::cgroup;
using berth::oci::DeviceRule;

namespace {

DeviceRule rule(bool allow, char type, std::optional<int64_t> major, std::optional<int64_t> minor,
                std::string access = "rwm") {
    DeviceRule r;
    r.allow = allow;
    r.type = type;
    r.major = major;
    r.minor = minor;
    r.access = std::move(access);
    return r;
}

constexpr uint32_t kChar = BPF_DEVCG_DEV_CHAR, kBlock = BPF_DEVCG_DEV_BLOCK;
constexpr uint32_t kRead = BPF_DEVCG_ACC_READ, kWrite = BPF_DEVCG_ACC_WRITE,
                   kMknod = BPF_DEVCG_ACC_MKNOD;

// Returns the program's r0 (1 allow, 0 deny); throws on an instruction the builder must not
// emit or on running off the program.
uint64_t run(const std::vector<bpf_insn>& prog, uint32_t type, uint32_t access, uint32_t major,
             uint32_t minor) {
    const uint32_t ctx[3] = {(access << 16) | type, major, minor};
    uint64_t r[11] = {};
    size_t pc = 0;
    for (int steps = 0; steps < 100000; ++steps) {
        if (pc >= prog.size()) throw std::runtime_error("fell off the program");
        const bpf_insn& i = prog[pc];
        const uint8_t cls = BPF_CLASS(i.code), op = BPF_OP(i.code);
        switch (cls) {
            case BPF_LDX:
                if (BPF_MODE(i.code) != BPF_MEM || BPF_SIZE(i.code) != BPF_W || i.src_reg != 1 ||
                    i.off % 4 != 0 || i.off < 0 || i.off > 8)
                    throw std::runtime_error("bad load");
                r[i.dst_reg] = ctx[i.off / 4];
                break;
            case BPF_ALU: {
                uint32_t src = BPF_SRC(i.code) == BPF_X ? static_cast<uint32_t>(r[i.src_reg])
                                                        : static_cast<uint32_t>(i.imm);
                uint32_t dst = static_cast<uint32_t>(r[i.dst_reg]);
                if (op == BPF_MOV)
                    dst = src;
                else if (op == BPF_AND)
                    dst &= src;
                else if (op == BPF_RSH)
                    dst >>= src;
                else
                    throw std::runtime_error("bad alu op");
                r[i.dst_reg] = dst;
                break;
            }
            case BPF_ALU64:
                if (op != BPF_MOV || BPF_SRC(i.code) != BPF_K)
                    throw std::runtime_error("bad alu64 op");
                r[i.dst_reg] = static_cast<uint64_t>(static_cast<int64_t>(i.imm));
                break;
            case BPF_JMP:
                if (op == BPF_EXIT) return r[0];
                if (op == BPF_JA) {
                    pc += i.off;
                } else if (op == BPF_JSET && BPF_SRC(i.code) == BPF_K) {
                    if (r[i.dst_reg] & static_cast<uint64_t>(static_cast<int64_t>(i.imm)))
                        pc += i.off;
                } else {
                    throw std::runtime_error("bad jmp op");
                }
                break;
            case BPF_JMP32: {
                uint32_t a = static_cast<uint32_t>(r[i.dst_reg]), b = static_cast<uint32_t>(i.imm);
                if (BPF_SRC(i.code) != BPF_K) throw std::runtime_error("bad jmp32 src");
                if (op == BPF_JNE) {
                    if (a != b) pc += i.off;
                } else if (op == BPF_JEQ) {
                    if (a == b) pc += i.off;
                } else {
                    throw std::runtime_error("bad jmp32 op");
                }
                break;
            }
            default:
                throw std::runtime_error("bad class");
        }
        ++pc;
    }
    throw std::runtime_error("loops");
}

// What the kernel verifier insists on structurally: jumps land inside, the last instruction
// is an exit, every instruction is reachable.
void check_structure(const std::vector<bpf_insn>& prog) {
    ASSERT_FALSE(prog.empty());
    EXPECT_EQ(prog.back().code, BPF_JMP | BPF_EXIT);
    std::set<size_t> reached;
    std::vector<size_t> todo = {0};
    while (!todo.empty()) {
        size_t pc = todo.back();
        todo.pop_back();
        ASSERT_LT(pc, prog.size());
        if (!reached.insert(pc).second) continue;
        const bpf_insn& i = prog[pc];
        uint8_t cls = BPF_CLASS(i.code), op = BPF_OP(i.code);
        if (cls == BPF_JMP && op == BPF_EXIT) continue;
        if ((cls == BPF_JMP || cls == BPF_JMP32) && op != BPF_CALL) {
            long target = static_cast<long>(pc) + 1 + i.off;
            ASSERT_GE(target, 0);
            ASSERT_LT(static_cast<size_t>(target), prog.size());
            EXPECT_GT(target, static_cast<long>(pc)) << "backward jump at " << pc;
            todo.push_back(static_cast<size_t>(target));
            if (op == BPF_JA) continue;
        }
        todo.push_back(pc + 1);
    }
    EXPECT_EQ(reached.size(), prog.size()) << "unreachable instructions";
}

}  // namespace

TEST(CgroupDeviceFilter, DefaultDenyWithAllowList) {
    std::vector<DeviceRule> rules = {rule(false, 'a', {}, {}), rule(true, 'c', 1, 3),
                                     rule(true, 'c', 1, 5, "r"), rule(true, 'c', 136, {}, "rw"),
                                     rule(true, 'c', {}, {}, "m")};
    auto prog = v2::build_device_filter(rules);
    check_structure(prog);
    EXPECT_EQ(run(prog, kChar, kRead | kWrite, 1, 3), 1u);  // /dev/null
    EXPECT_EQ(run(prog, kChar, kRead, 1, 5), 1u);           // /dev/zero read
    EXPECT_EQ(run(prog, kChar, kRead | kWrite, 1, 5), 0u);  // /dev/zero write is not allowed
    EXPECT_EQ(run(prog, kChar, kWrite, 136, 7), 1u);        // any pty
    EXPECT_EQ(run(prog, kChar, kMknod, 10, 200), 1u);       // mknod of any char device
    EXPECT_EQ(run(prog, kChar, kRead, 10, 200), 0u);
    EXPECT_EQ(run(prog, kBlock, kRead, 1, 3), 0u);  // block 1:3 is another device
    EXPECT_EQ(run(prog, kBlock, kMknod, 8, 0), 0u);
}

TEST(CgroupDeviceFilter, LaterRulesOverrideEarlierOnes) {
    std::vector<DeviceRule> rules = {rule(true, 'a', {}, {}), rule(false, 'c', 1, 5, "w"),
                                     rule(false, 'b', {}, {}), rule(true, 'b', 8, 0, "r")};
    auto prog = v2::build_device_filter(rules);
    check_structure(prog);
    EXPECT_EQ(run(prog, kChar, kRead, 1, 5), 1u);
    EXPECT_EQ(run(prog, kChar, kWrite, 1, 5), 0u);
    EXPECT_EQ(run(prog, kChar, kRead | kWrite, 1, 5), 0u);  // one denied bit denies
    EXPECT_EQ(run(prog, kChar, kRead | kWrite, 4, 1), 1u);
    EXPECT_EQ(run(prog, kBlock, kRead, 8, 0), 1u);
    EXPECT_EQ(run(prog, kBlock, kWrite, 8, 0), 0u);
    EXPECT_EQ(run(prog, kBlock, kRead, 8, 1), 0u);
}

TEST(CgroupDeviceFilter, TypeAWithNumbersMatchesBothTypes) {
    auto prog = v2::build_device_filter({rule(false, 'a', {}, {}), rule(true, 'a', 7, {}, "rw")});
    check_structure(prog);
    EXPECT_EQ(run(prog, kChar, kRead, 7, 1), 1u);
    EXPECT_EQ(run(prog, kBlock, kWrite, 7, 99), 1u);
    EXPECT_EQ(run(prog, kBlock, kMknod, 7, 99), 0u);
    EXPECT_EQ(run(prog, kChar, kRead, 8, 1), 0u);
}

TEST(CgroupDeviceFilter, LargeDeviceNumbersCompareUnsigned) {
    auto prog = v2::build_device_filter({rule(true, 'c', 4294967295LL, 4294967294LL)});
    check_structure(prog);
    EXPECT_EQ(run(prog, kChar, kRead, 4294967295u, 4294967294u), 1u);
    EXPECT_EQ(run(prog, kChar, kRead, 4294967295u, 1), 0u);
}

TEST(CgroupDeviceFilter, EmptyListDeniesEverything) {
    auto prog = v2::build_device_filter({});
    check_structure(prog);
    EXPECT_EQ(run(prog, kChar, kRead, 1, 3), 0u);
    EXPECT_EQ(run(prog, kBlock, kMknod, 8, 0), 0u);
}

TEST(CgroupDeviceFilter, AllowAllStopsAtTheWildcardAndHasNoDenyPath) {
    auto prog = v2::build_device_filter({rule(false, 'c', 1, 3), rule(true, 'a', {}, {})});
    check_structure(prog);
    // prologue 6 + per bit (JSET, JA, JA-allow) 3 * 3 + allow exit 2; the deny rule is hidden.
    EXPECT_EQ(prog.size(), 17u);
    EXPECT_EQ(run(prog, kChar, kRead | kWrite | kMknod, 1, 3), 1u);
}

TEST(CgroupDeviceFilter, ProgramLengthGrowsWithConditions) {
    // prologue 6; per bit: JSET+JA 2, the rule (type, major, minor, outcome) 4, default-deny 1;
    // allow exit 2; deny exit 2.
    auto prog = v2::build_device_filter({rule(true, 'c', 1, 3)});
    check_structure(prog);
    EXPECT_EQ(prog.size(), 6u + 3 * (2 + 4 + 1) + 2 + 2);
    // A rule that covers only reads appears in the read section only.
    auto read_only = v2::build_device_filter({rule(true, 'c', 1, 3, "r")});
    check_structure(read_only);
    EXPECT_EQ(read_only.size(), 6u + 3 * (2 + 1) + 4 + 2 + 2);
}

TEST(CgroupDeviceFilter, V1WritesExpandTypeAWhereTheKernelWouldNot) {
    auto writes = v1::device_writes({rule(false, 'a', {}, {}), rule(true, 'c', 1, 3),
                                     rule(true, 'a', 7, {}, "rw"), rule(false, 'a', {}, {}, "m"),
                                     rule(true, 'b', {}, 0, "r")});
    std::vector<std::pair<bool, std::string>> expected = {
        {false, "a *:* rwm"}, {true, "c 1:3 rwm"}, {true, "c 7:* rw"}, {true, "b 7:* rw"},
        {false, "c *:* m"},   {false, "b *:* m"},  {true, "b *:0 r"}};
    EXPECT_EQ(writes, expected);
}
