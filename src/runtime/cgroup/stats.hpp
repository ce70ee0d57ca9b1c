// The statistics of `events --stats`, shaped and serialized as runc's types/events.go.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace berth::runtime::cgroup {

struct MemoryEntry {
    uint64_t limit = 0, usage = 0, max = 0, failcnt = 0;
};

struct BlkioEntry {
    uint64_t major = 0, minor = 0;
    std::string op;
    uint64_t value = 0;
};

struct HugetlbEntry {
    uint64_t usage = 0, max = 0, failcnt = 0;
};

struct Stats {
    struct {
        uint64_t total = 0;  // nanoseconds
        std::vector<uint64_t> percpu, percpu_kernel, percpu_user;
        uint64_t kernel = 0, user = 0;
    } cpu_usage;
    struct {
        uint64_t periods = 0, throttled_periods = 0, throttled_time = 0;
    } throttling;
    struct {
        std::vector<uint16_t> cpus, mems;
        uint64_t cpu_exclusive = 0, mem_hardwall = 0, mem_exclusive = 0, memory_migrate = 0,
                 memory_spread_page = 0, memory_spread_slab = 0, memory_pressure = 0,
                 sched_load_balance = 0;
        int64_t sched_relax_domain_level = 0;
    } cpuset;
    struct {
        uint64_t cache = 0;
        MemoryEntry usage, swap, kernel, kernel_tcp;
        std::map<std::string, uint64_t> raw;
    } memory;
    struct {
        uint64_t current = 0, limit = 0;
    } pids;
    struct {
        std::vector<BlkioEntry> service_bytes, serviced, queued, service_time, wait_time, merged,
            time, sectors;
    } blkio;
    std::map<std::string, HugetlbEntry> hugetlb;  // by page size, "2MB"
};

// runc's JSON, with its omitempty rules: zero numbers and empty lists are left out where
// runc leaves them out.
nlohmann::json stats_to_json(const Stats& stats);

// Parsers shared by v1 and v2 statistics.
// blkio.* files: "8:0 Read 123" lines (and "8:0 123"); "Total N" lines skipped.
std::vector<BlkioEntry> parse_blkio_stat(std::string_view text);
// io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 ..." into bytes and ios entries.
void parse_io_stat(std::string_view text, std::vector<BlkioEntry>& bytes,
                   std::vector<BlkioEntry>& ios);
// cpuacct.usage_all: "cpu user system" header, then one line per cpu.
void parse_cpuacct_usage_all(std::string_view text, std::vector<uint64_t>& user,
                             std::vector<uint64_t>& kernel);

}  // namespace berth::runtime::cgroup
