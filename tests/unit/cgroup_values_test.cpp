#include <gtest/gtest.h>

#include "common/error.hpp"
#include "runtime/cgroup/files.hpp"
#include "runtime/cgroup/values.hpp"

using namespace berth::runtime::cgroup;

TEST(CgroupValues, SharesToWeightMatchesRunc) {
    // The table of runc's (opencontainers/cgroups) conversion test.
    EXPECT_EQ(cpu_weight_from_shares(0), 0u);
    EXPECT_EQ(cpu_weight_from_shares(1), 1u);
    EXPECT_EQ(cpu_weight_from_shares(2), 1u);
    EXPECT_EQ(cpu_weight_from_shares(1024), 100u);
    EXPECT_EQ(cpu_weight_from_shares(262144), 10000u);
    EXPECT_EQ(cpu_weight_from_shares(1000000), 10000u);
    // Monotonic in between.
    uint64_t last = 0;
    for (uint64_t s = 2; s <= 262144; s = s * 3 / 2 + 1) {
        uint64_t w = cpu_weight_from_shares(s);
        EXPECT_GE(w, last) << s;
        EXPECT_GE(w, 1u);
        EXPECT_LE(w, 10000u);
        last = w;
    }
    EXPECT_LT(cpu_weight_from_shares(512), 100u);
    EXPECT_GT(cpu_weight_from_shares(2048), 100u);
}

TEST(CgroupValues, CpuMaxStrings) {
    EXPECT_EQ(cpu_max_value(50000, 100000), "50000 100000");
    EXPECT_EQ(cpu_max_value(-1, 100000), "max 100000");
    EXPECT_EQ(cpu_max_value(std::nullopt, 250000), "max 250000");
    EXPECT_EQ(cpu_max_value(20000, std::nullopt), "20000");
    EXPECT_EQ(cpu_max_value(-1, std::nullopt), "max");
    EXPECT_EQ(cpu_max_value(20000, 0), "20000");
}

TEST(CgroupValues, SwapIsTotalMinusLimitOnV2) {
    EXPECT_EQ(swap_max_v2(200, 100), std::optional<int64_t>(100));
    EXPECT_EQ(swap_max_v2(100, 100), std::optional<int64_t>(0));  // no swap at all
    EXPECT_EQ(swap_max_v2(-1, 100), std::optional<int64_t>(-1));
    EXPECT_EQ(swap_max_v2(std::nullopt, -1), std::optional<int64_t>(-1));  // unlimited both
    EXPECT_EQ(swap_max_v2(0, -1), std::optional<int64_t>(-1));
    EXPECT_EQ(swap_max_v2(500, -1), std::optional<int64_t>(500));
    EXPECT_EQ(swap_max_v2(std::nullopt, 100), std::nullopt);
    EXPECT_EQ(swap_max_v2(std::nullopt, std::nullopt), std::nullopt);
    EXPECT_THROW(swap_max_v2(100, std::nullopt), berth::Error);
    EXPECT_THROW(swap_max_v2(50, 100), berth::Error);
    EXPECT_EQ(v2_limit(-1), "max");
    EXPECT_EQ(v2_limit(1048576), "1048576");
}

TEST(CgroupValues, BlkioWeightToIoWeight) {
    EXPECT_EQ(io_weight_from_blkio(0), 0u);
    EXPECT_EQ(io_weight_from_blkio(10), 1u);
    EXPECT_EQ(io_weight_from_blkio(500), 4950u);
    EXPECT_EQ(io_weight_from_blkio(1000), 10000u);
}

TEST(CgroupValues, PidsMax) {
    EXPECT_EQ(pids_max_value(-1), "max");
    EXPECT_EQ(pids_max_value(0), "1");
    EXPECT_EQ(pids_max_value(100), "100");
}

TEST(CgroupValues, PageSizesFromSysfsNames) {
    EXPECT_EQ(page_size_from_sysfs("hugepages-2048kB"), "2MB");
    EXPECT_EQ(page_size_from_sysfs("hugepages-1048576kB"), "1GB");
    EXPECT_EQ(page_size_from_sysfs("hugepages-64kB"), "64KB");
    EXPECT_EQ(page_size_from_sysfs("hugepages-32768kB"), "32MB");
    EXPECT_EQ(page_size_from_sysfs("something"), "");
    EXPECT_EQ(page_size_from_sysfs("hugepages-xkB"), "");
}

TEST(CgroupValues, FileValueParsers) {
    EXPECT_EQ(parse_value("max\n"), std::optional<uint64_t>(UINT64_MAX));
    EXPECT_EQ(parse_value(" 42\n"), std::optional<uint64_t>(42));
    EXPECT_EQ(parse_value(""), std::nullopt);
    auto kv = parse_flat_keyed("usage_usec 100\nuser_usec 60\nbroken\nsystem_usec 40\n");
    EXPECT_EQ(kv.size(), 3u);
    EXPECT_EQ(kv["user_usec"], 60u);
    EXPECT_EQ(keyed_value("populated 1\nfrozen 0\n", "frozen"), std::optional<uint64_t>(0));
    EXPECT_EQ(keyed_value("populated 1\n", "frozen"), std::nullopt);
    EXPECT_EQ(parse_uint_list("10 20 30 \n"), (std::vector<uint64_t>{10, 20, 30}));
    EXPECT_EQ(parse_cpu_list("0-2,5\n"), (std::vector<uint16_t>{0, 1, 2, 5}));
    EXPECT_TRUE(parse_cpu_list("3-1").empty());
    EXPECT_EQ(parse_pids("1\n22\n\n333\n"), (std::vector<pid_t>{1, 22, 333}));
}
