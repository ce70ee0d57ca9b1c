#include "runtime/cgroup/stats.hpp"

#include "common/strings.hpp"

namespace berth::runtime::cgroup {
namespace {

using nlohmann::json;

void put_nonzero(json& j, const char* key, uint64_t v) {
    if (v != 0) j[key] = v;
}

json memory_entry(const MemoryEntry& e) {
    json j = {{"limit", e.limit}, {"failcnt", e.failcnt}};
    put_nonzero(j, "usage", e.usage);
    put_nonzero(j, "max", e.max);
    return j;
}

bool is_zero(const MemoryEntry& e) {
    return e.limit == 0 && e.usage == 0 && e.max == 0 && e.failcnt == 0;
}

json blkio_list(const std::vector<BlkioEntry>& entries) {
    json list = json::array();
    for (const auto& e : entries) {
        json j = json::object();
        put_nonzero(j, "major", e.major);
        put_nonzero(j, "minor", e.minor);
        if (!e.op.empty()) j["op"] = e.op;
        put_nonzero(j, "value", e.value);
        list.push_back(std::move(j));
    }
    return list;
}

std::vector<std::string> words(std::string_view line) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
            ++i;
        size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t')
            ++i;
        if (i > start) out.emplace_back(line.substr(start, i - start));
    }
    return out;
}

bool parse_device(const std::string& text, uint64_t& major, uint64_t& minor) {
    auto colon = text.find(':');
    if (colon == std::string::npos) return false;
    auto ma = parse_uint64(std::string_view(text).substr(0, colon));
    auto mi = parse_uint64(std::string_view(text).substr(colon + 1));
    if (!ma || !mi) return false;
    major = *ma;
    minor = *mi;
    return true;
}

}  // namespace

json stats_to_json(const Stats& s) {
    json out = json::object();

    json cpu = json::object();
    const auto& u = s.cpu_usage;
    if (u.total != 0 || !u.percpu.empty() || !u.percpu_kernel.empty() || !u.percpu_user.empty() ||
        u.kernel != 0 || u.user != 0) {
        json usage = json::object();
        put_nonzero(usage, "total", u.total);
        if (!u.percpu.empty()) usage["percpu"] = u.percpu;
        if (!u.percpu_kernel.empty()) usage["percpu_kernel"] = u.percpu_kernel;
        if (!u.percpu_user.empty()) usage["percpu_user"] = u.percpu_user;
        usage["kernel"] = u.kernel;
        usage["user"] = u.user;
        cpu["usage"] = std::move(usage);
    }
    const auto& t = s.throttling;
    if (t.periods != 0 || t.throttled_periods != 0 || t.throttled_time != 0) {
        json throttling = json::object();
        put_nonzero(throttling, "periods", t.periods);
        put_nonzero(throttling, "throttledPeriods", t.throttled_periods);
        put_nonzero(throttling, "throttledTime", t.throttled_time);
        cpu["throttling"] = std::move(throttling);
    }
    out["cpu"] = std::move(cpu);

    const auto& cs = s.cpuset;
    json cpuset = json::object();
    if (!cs.cpus.empty()) cpuset["cpus"] = cs.cpus;
    cpuset["cpu_exclusive"] = cs.cpu_exclusive;
    if (!cs.mems.empty()) cpuset["mems"] = cs.mems;
    cpuset["mem_hardwall"] = cs.mem_hardwall;
    cpuset["mem_exclusive"] = cs.mem_exclusive;
    cpuset["memory_migrate"] = cs.memory_migrate;
    cpuset["memory_spread_page"] = cs.memory_spread_page;
    cpuset["memory_spread_slab"] = cs.memory_spread_slab;
    cpuset["memory_pressure"] = cs.memory_pressure;
    cpuset["sched_load_balance"] = cs.sched_load_balance;
    cpuset["sched_relax_domain_level"] = cs.sched_relax_domain_level;
    out["cpuset"] = std::move(cpuset);

    const auto& m = s.memory;
    json memory = json::object();
    put_nonzero(memory, "cache", m.cache);
    if (!is_zero(m.usage)) memory["usage"] = memory_entry(m.usage);
    if (!is_zero(m.swap)) memory["swap"] = memory_entry(m.swap);
    if (!is_zero(m.kernel)) memory["kernel"] = memory_entry(m.kernel);
    if (!is_zero(m.kernel_tcp)) memory["kernelTCP"] = memory_entry(m.kernel_tcp);
    if (!m.raw.empty()) memory["raw"] = m.raw;
    out["memory"] = std::move(memory);

    json pids = json::object();
    put_nonzero(pids, "current", s.pids.current);
    put_nonzero(pids, "limit", s.pids.limit);
    out["pids"] = std::move(pids);

    const auto& b = s.blkio;
    json blkio = json::object();
    auto put_list = [&](const char* key, const std::vector<BlkioEntry>& entries) {
        if (!entries.empty()) blkio[key] = blkio_list(entries);
    };
    put_list("ioServiceBytesRecursive", b.service_bytes);
    put_list("ioServicedRecursive", b.serviced);
    put_list("ioQueueRecursive", b.queued);
    put_list("ioServiceTimeRecursive", b.service_time);
    put_list("ioWaitTimeRecursive", b.wait_time);
    put_list("ioMergedRecursive", b.merged);
    put_list("ioTimeRecursive", b.time);
    put_list("sectorsRecursive", b.sectors);
    out["blkio"] = std::move(blkio);

    json hugetlb = json::object();
    for (const auto& [size, e] : s.hugetlb) {
        json j = {{"failcnt", e.failcnt}};
        put_nonzero(j, "usage", e.usage);
        put_nonzero(j, "max", e.max);
        hugetlb[size] = std::move(j);
    }
    out["hugetlb"] = std::move(hugetlb);
    out["intel_rdt"] = json::object();
    out["network_interfaces"] = nullptr;
    return out;
}

std::vector<BlkioEntry> parse_blkio_stat(std::string_view text) {
    std::vector<BlkioEntry> out;
    for (const auto& line : split(text, '\n')) {
        auto w = words(line);
        if (w.size() < 2 || w[0] == "Total") continue;
        BlkioEntry e;
        if (!parse_device(w[0], e.major, e.minor)) continue;
        auto value = parse_uint64(w.size() >= 3 ? w[2] : w[1]);
        if (!value) continue;
        if (w.size() >= 3) e.op = w[1];
        e.value = *value;
        out.push_back(std::move(e));
    }
    return out;
}

void parse_io_stat(std::string_view text, std::vector<BlkioEntry>& bytes,
                   std::vector<BlkioEntry>& ios) {
    for (const auto& line : split(text, '\n')) {
        auto w = words(line);
        if (w.empty()) continue;
        uint64_t major = 0, minor = 0;
        if (!parse_device(w[0], major, minor)) continue;
        for (size_t i = 1; i < w.size(); ++i) {
            auto eq = w[i].find('=');
            if (eq == std::string::npos) continue;
            std::string key = w[i].substr(0, eq);
            auto value = parse_uint64(std::string_view(w[i]).substr(eq + 1));
            if (!value) continue;
            if (key == "rbytes")
                bytes.push_back({major, minor, "Read", *value});
            else if (key == "wbytes")
                bytes.push_back({major, minor, "Write", *value});
            else if (key == "rios")
                ios.push_back({major, minor, "Read", *value});
            else if (key == "wios")
                ios.push_back({major, minor, "Write", *value});
        }
    }
}

void parse_cpuacct_usage_all(std::string_view text, std::vector<uint64_t>& user,
                             std::vector<uint64_t>& kernel) {
    auto lines = split(text, '\n');
    for (size_t i = 1; i < lines.size(); ++i) {  // the first line is the header
        auto w = words(lines[i]);
        if (w.size() != 3) continue;
        auto u = parse_uint64(w[1]);
        auto k = parse_uint64(w[2]);
        if (!u || !k) continue;
        user.push_back(*u);
        kernel.push_back(*k);
    }
}

}  // namespace berth::runtime::cgroup
