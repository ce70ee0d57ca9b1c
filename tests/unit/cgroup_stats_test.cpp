#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "runtime/cgroup/controllers.hpp"
#include "runtime/cgroup/stats.hpp"

namespace fs = std::filesystem;
using namespace berth::runtime::cgroup;

namespace {

class StatsDir : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-cgroup-stats-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir = tmpl;
    }
    void TearDown() override { fs::remove_all(dir); }
    void put(const std::string& name, const std::string& content) const {
        std::ofstream(dir + "/" + name) << content;
    }
    std::string dir;
};

}  // namespace

TEST(CgroupStats, ParsesBlkioLines) {
    auto entries = parse_blkio_stat(
        "8:0 Read 1282048\n8:0 Write 2195456\n8:16 Total 3\nTotal 3477504\n253:1 42\n");
    ASSERT_EQ(entries.size(), 4u);
    EXPECT_EQ(entries[0].major, 8u);
    EXPECT_EQ(entries[0].op, "Read");
    EXPECT_EQ(entries[0].value, 1282048u);
    EXPECT_EQ(entries[2].minor, 16u);
    EXPECT_EQ(entries[3].op, "");
    EXPECT_EQ(entries[3].value, 42u);
}

TEST(CgroupStats, ParsesIoStat) {
    std::vector<BlkioEntry> bytes, ios;
    parse_io_stat(
        "254:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n8:0 rbytes=1 wbytes=0 rios=3 "
        "wios=0\n",
        bytes, ios);
    ASSERT_EQ(bytes.size(), 4u);
    ASSERT_EQ(ios.size(), 4u);
    EXPECT_EQ(bytes[0].major, 254u);
    EXPECT_EQ(bytes[0].op, "Read");
    EXPECT_EQ(bytes[1].op, "Write");
    EXPECT_EQ(bytes[1].value, 8192u);
    EXPECT_EQ(ios[2].value, 3u);
}

TEST(CgroupStats, ParsesCpuacctUsageAll) {
    std::vector<uint64_t> user, kernel;
    parse_cpuacct_usage_all("cpu user system\n0 100 10\n1 200 20\n", user, kernel);
    EXPECT_EQ(user, (std::vector<uint64_t>{100, 200}));
    EXPECT_EQ(kernel, (std::vector<uint64_t>{10, 20}));
}

TEST(CgroupStats, JsonFollowsRuncOmitempty) {
    Stats s;
    auto j = stats_to_json(s);
    EXPECT_EQ(j["cpu"], nlohmann::json::object());  // usage and throttling omitted when zero
    EXPECT_EQ(j["memory"], nlohmann::json::object());
    EXPECT_EQ(j["pids"], nlohmann::json::object());
    EXPECT_EQ(j["blkio"], nlohmann::json::object());
    EXPECT_EQ(j["hugetlb"], nlohmann::json::object());
    EXPECT_TRUE(j["network_interfaces"].is_null());
    EXPECT_EQ(j["cpuset"]["cpu_exclusive"], 0);

    s.cpu_usage.total = 5;
    s.cpu_usage.percpu = {2, 3};
    s.memory.usage.limit = 100;
    s.memory.usage.usage = 10;
    s.memory.raw["cache"] = 7;
    s.memory.cache = 7;
    s.pids.current = 3;
    s.blkio.service_bytes.push_back({8, 0, "Read", 4096});
    s.hugetlb["2MB"] = HugetlbEntry{0, 0, 0};
    j = stats_to_json(s);
    EXPECT_EQ(j["cpu"]["usage"]["total"], 5);
    EXPECT_EQ(j["cpu"]["usage"]["percpu"], nlohmann::json({2, 3}));
    EXPECT_EQ(j["cpu"]["usage"]["kernel"], 0);  // not omitempty in runc
    EXPECT_FALSE(j["cpu"].contains("throttling"));
    EXPECT_EQ(j["memory"]["usage"],
              nlohmann::json({{"limit", 100}, {"usage", 10}, {"failcnt", 0}}));
    EXPECT_FALSE(j["memory"].contains("swap"));
    EXPECT_EQ(j["memory"]["raw"]["cache"], 7);
    EXPECT_EQ(j["pids"], nlohmann::json({{"current", 3}}));
    EXPECT_EQ(j["blkio"]["ioServiceBytesRecursive"][0],
              nlohmann::json({{"major", 8}, {"op", "Read"}, {"value", 4096}}));  // minor 0 omitted
    EXPECT_EQ(j["hugetlb"]["2MB"], nlohmann::json({{"failcnt", 0}}));
}

TEST_F(StatsDir, V1FilesGiveRuncShapedStats) {
    put("cpuacct.usage", "3000\n");
    put("cpuacct.usage_percpu", "1000 2000 \n");
    put("cpuacct.usage_all", "cpu user system\n0 600 400\n1 1500 500\n");
    put("cpu.stat", "nr_periods 10\nnr_throttled 2\nthrottled_time 5000\n");
    put("memory.stat", "cache 4096\nrss 8192\ntotal_cache 4096\n");
    put("memory.usage_in_bytes", "12288\n");
    put("memory.max_usage_in_bytes", "20000\n");
    put("memory.limit_in_bytes", "67108864\n");
    put("memory.failcnt", "3\n");
    put("memory.memsw.usage_in_bytes", "12288\n");
    put("memory.memsw.limit_in_bytes", "134217728\n");
    put("pids.current", "2\n");
    put("pids.max", "max\n");
    put("blkio.throttle.io_service_bytes_recursive",
        "254:0 Read 4096\n254:0 Write 0\nTotal 4096\n");
    put("blkio.throttle.io_serviced_recursive", "254:0 Read 1\n254:0 Write 0\nTotal 1\n");
    put("blkio.bfq.io_service_bytes_recursive", "Total 0\n");  // empty group: falls through
    put("blkio.bfq.io_serviced_recursive", "Total 0\n");
    put("hugetlb.2MB.usage_in_bytes", "2097152\n");
    put("hugetlb.2MB.max_usage_in_bytes", "4194304\n");
    put("hugetlb.2MB.failcnt", "1\n");
    Stats s;
    v1::stats_cpuacct(dir, s);
    v1::stats_cpu(dir, s);
    v1::stats_memory(dir, s);
    v1::stats_pids(dir, s);
    v1::stats_blkio(dir, s);
    v1::stats_hugetlb(dir, {"2MB", "1GB"}, s);
    auto j = stats_to_json(s);
    EXPECT_EQ(j["cpu"]["usage"]["total"], 3000);
    EXPECT_EQ(j["cpu"]["usage"]["percpu"], nlohmann::json({1000, 2000}));
    EXPECT_EQ(j["cpu"]["usage"]["percpu_user"], nlohmann::json({600, 1500}));
    EXPECT_EQ(j["cpu"]["usage"]["user"], 2100);
    EXPECT_EQ(j["cpu"]["usage"]["kernel"], 900);
    EXPECT_EQ(j["cpu"]["throttling"],
              nlohmann::json({{"periods", 10}, {"throttledPeriods", 2}, {"throttledTime", 5000}}));
    EXPECT_EQ(j["memory"]["cache"], 4096);
    EXPECT_EQ(
        j["memory"]["usage"],
        nlohmann::json({{"usage", 12288}, {"max", 20000}, {"limit", 67108864}, {"failcnt", 3}}));
    EXPECT_EQ(j["memory"]["swap"]["limit"], 134217728);
    EXPECT_FALSE(j["memory"].contains("kernel"));
    EXPECT_EQ(j["memory"]["raw"]["rss"], 8192);
    EXPECT_EQ(j["pids"], nlohmann::json({{"current", 2}}));  // "max" is no limit: omitted
    ASSERT_EQ(j["blkio"]["ioServiceBytesRecursive"].size(), 2u);
    EXPECT_EQ(j["blkio"]["ioServiceBytesRecursive"][0]["value"], 4096);
    EXPECT_EQ(j["blkio"]["ioServicedRecursive"][0]["value"], 1);
    EXPECT_EQ(j["hugetlb"]["2MB"],
              nlohmann::json({{"usage", 2097152}, {"max", 4194304}, {"failcnt", 1}}));
    EXPECT_FALSE(j["hugetlb"].contains("1GB"));
}

TEST_F(StatsDir, V2FilesGiveRuncShapedStats) {
    put("cpu.stat",
        "usage_usec 300\nuser_usec 200\nsystem_usec 100\nnr_periods 4\nnr_throttled "
        "1\nthrottled_usec 7\n");
    put("memory.stat", "anon 8192\nfile 4096\n");
    put("memory.current", "12288\n");
    put("memory.max", "max\n");
    put("memory.peak", "16384\n");
    put("memory.events", "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n");
    put("memory.swap.current", "100\n");
    put("memory.swap.max", "1000\n");
    put("pids.current", "4\n");
    put("pids.max", "64\n");
    put("io.stat", "254:0 rbytes=4096 wbytes=8192 rios=1 wios=2\n");
    put("hugetlb.2MB.current", "0\n");
    put("hugetlb.2MB.events", "max 2\n");
    Stats s;
    v2::stats_cpu(dir, s);
    v2::stats_memory(dir, s);
    v2::stats_pids(dir, s);
    v2::stats_io(dir, s);
    v2::stats_hugetlb(dir, {"2MB"}, s);
    auto j = stats_to_json(s);
    EXPECT_EQ(j["cpu"]["usage"],
              nlohmann::json({{"total", 300000}, {"user", 200000}, {"kernel", 100000}}));
    EXPECT_EQ(j["cpu"]["throttling"]["throttledTime"], 7000);
    EXPECT_EQ(j["memory"]["cache"], 4096);
    EXPECT_EQ(j["memory"]["usage"]["limit"], UINT64_MAX);
    EXPECT_EQ(j["memory"]["usage"]["max"], 16384);
    EXPECT_EQ(j["memory"]["usage"]["failcnt"], 5);
    // v1-compatible swap: memory + swap, limit unlimited stays unlimited
    EXPECT_EQ(j["memory"]["swap"]["usage"], 12388);
    EXPECT_EQ(j["memory"]["swap"]["limit"], UINT64_MAX);  // unlimited memory: unlimited in sum
    EXPECT_EQ(j["pids"], nlohmann::json({{"current", 4}, {"limit", 64}}));
    EXPECT_EQ(j["blkio"]["ioServicedRecursive"][1]["value"], 2);
    EXPECT_EQ(j["hugetlb"]["2MB"], nlohmann::json({{"failcnt", 2}}));
}
