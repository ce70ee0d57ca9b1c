// The cgroup manager on this machine's real hierarchies (run as root). Every test makes its
// cgroups under a unique name "berth-test-PID-N" and removes them in TearDown, also when an
// assertion failed: TearDown kills what is left inside, thaws and removes the directories by
// itself, then checks that nothing of that name is left in any hierarchy.
//
// The v2 paths are exercised on this hybrid host's cgroup2 mount by driving it as a pure v2
// host (devices eBPF, freezer, cgroup.kill, hugetlb). The v2 writers of controllers that this
// host keeps in v1 (cpu, cpuset, memory, pids, io) are tested on fake trees in the unit tests:
// moving a v1 controller to cgroup2 for a test needs its hierarchy unmounted, and here
// umount(2) of every v1 hierarchy fails with EBUSY (the machine's init holds references we
// may not inspect or release), so it cannot be done safely.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <set>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/strings.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/cgroup/files.hpp"
#include "runtime/cgroup/layout.hpp"
#include "runtime/cgroup/manager.hpp"

namespace fs = std::filesystem;
using namespace berth::runtime::cgroup;
using berth::oci::Resources;

namespace {

void sleep_ms(long ms) {
    timespec ts{ms / 1000, (ms % 1000) * 1000000};
    ::nanosleep(&ts, nullptr);
}

std::string read_trimmed(const std::string& path) {
    return std::string(berth::trim(berth::read_file(path)));
}

Resources resources(const char* json) {
    return berth::oci::parse_resources(nlohmann::json::parse(json));
}

// A counter in memory shared with forked children, to see whether they make progress.
class SharedCounter {
  public:
    SharedCounter() {
        void* p = ::mmap(nullptr, sizeof(uint64_t), PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) throw std::runtime_error("mmap failed");
        value_ = static_cast<uint64_t*>(p);
    }
    ~SharedCounter() { ::munmap(value_, sizeof(uint64_t)); }
    SharedCounter(const SharedCounter&) = delete;
    SharedCounter& operator=(const SharedCounter&) = delete;
    std::atomic_ref<uint64_t> operator*() { return std::atomic_ref<uint64_t>(*value_); }

  private:
    uint64_t* value_;  // zeroed by mmap
};

// True for directories these tests may sweep: named berth-test-*/berthtest*, never a
// hierarchy's root (whose cgroup.procs lists every process on the host).
bool sweepable(const std::string& dir) {
    const std::string base = fs::path(dir).filename().string();
    if (base.rfind("berth-test-", 0) != 0 && base.rfind("berthtest", 0) != 0) return false;
    for (const auto& h : Layout::detect().hierarchies)
        if (fs::path(dir).lexically_normal() == fs::path(h.mountpoint).lexically_normal())
            return false;
    return true;
}

// Removes a test's cgroup directory tree bottom-up, killing and thawing what is inside first.
void force_remove(const std::string& dir, bool top = true) {
    if (top && !sweepable(dir)) {
        ADD_FAILURE() << "refusing to sweep " << dir;
        return;
    }
    if (!fs::exists(dir)) return;
    for (const auto& child : list_directory(dir, true))
        force_remove(concat({dir, "/", child}), false);
    cg_write_if_exists(dir, "freezer.state", "THAWED");
    if (cg_exists(dir, "cgroup.freeze")) cg_write_if_exists(dir, "cgroup.freeze", "0");
    for (int attempt = 0; attempt < 100; ++attempt) {
        if (auto procs = cg_read_if_exists(dir, "cgroup.procs"))
            for (pid_t pid : parse_pids(*procs))
                ::kill(pid, SIGKILL);
        if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
        sleep_ms(20);
    }
    ADD_FAILURE() << "cannot remove " << dir << ": " << std::strerror(errno);
}

class CgroupTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root";
        static int counter = 0;
        name = "berth-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
        layout = Layout::detect();
    }

    void TearDown() override {
        if (name.empty()) return;  // skipped in SetUp: nothing made
        for (pid_t pid : children) {
            ::kill(pid, SIGKILL);
        }
        // Thaw before reaping: a frozen child does not die.
        for (const auto& h : Layout::detect().hierarchies) {
            std::string d = h.mountpoint + "/" + name;
            cg_write_if_exists(d, "freezer.state", "THAWED");
            if (cg_exists(d, "cgroup.freeze")) cg_write_if_exists(d, "cgroup.freeze", "0");
        }
        for (pid_t pid : children)
            ::waitpid(pid, nullptr, 0);
        for (auto& m : managers) {
            try {
                m->destroy();
            } catch (const std::exception& e) {
                ADD_FAILURE() << "destroy: " << e.what();
            }
        }
        for (const auto& h : Layout::detect().hierarchies)
            force_remove(h.mountpoint + "/" + name);
        for (const auto& h : Layout::detect().hierarchies)
            EXPECT_FALSE(fs::exists(h.mountpoint + "/" + name))
                << h.mountpoint << "/" << name << " is left";
    }

    Manager& open(const std::string& path, const Layout* on = nullptr) {
        Options o;
        o.cgroups_path = path;
        o.container_id = name;
        managers.push_back(on ? Manager::open(o, *on) : Manager::open(o));
        return *managers.back();
    }

    // Forks a child that waits until released (after it was moved into the cgroup), runs
    // body and exits with its result.
    pid_t spawn(const std::function<int()>& body) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) < 0) throw std::runtime_error("pipe2 failed");
        pid_t pid = ::fork();
        if (pid < 0) throw std::runtime_error("fork failed");
        if (pid == 0) {
            ::close(fds[1]);
            char c;
            if (::read(fds[0], &c, 1) != 1) ::_exit(120);
            ::_exit(body());
        }
        ::close(fds[0]);
        children.push_back(pid);
        gates[pid] = fds[1];
        return pid;
    }

    void release(pid_t pid) {
        int fd = gates.at(pid);
        ASSERT_EQ(::write(fd, "g", 1), 1);
        ::close(fd);
        gates.erase(pid);
    }

    // Waits for the child; returns its wait status.
    int reap(pid_t pid) {
        int status = 0;
        EXPECT_EQ(::waitpid(pid, &status, 0), pid);
        children.erase(std::remove(children.begin(), children.end(), pid), children.end());
        return status;
    }

    // The layout of the unified hierarchy alone, driven as a pure v2 host.
    [[nodiscard]] std::optional<Layout> unified_only() const {
        auto u = unified_index(layout);
        if (!u) return std::nullopt;
        Layout l;
        l.mode = Mode::v2;
        l.hierarchies.push_back(layout.hierarchies[*u]);
        l.v2_controllers = layout.v2_controllers;
        return l;
    }

    std::string dir_of(const Manager& m, const std::string& controllers) const {
        for (const auto& p : m.placements())
            if (p.hierarchy.controllers == controllers && !p.hierarchy.unified)
                return p.hierarchy.mountpoint + p.path;
        return {};
    }
    static std::string unified_dir(const Manager& m) {
        for (const auto& p : m.placements())
            if (p.hierarchy.unified) return p.hierarchy.mountpoint + p.path;
        return {};
    }

    bool hybrid() const { return layout.mode == Mode::hybrid; }

    // Other tests on this machine can take hugetlb out of cgroup2 (mounting it as a v1
    // hierarchy in a container binds it there while that mount lives).
    bool hugetlb_in_cgroup2() const {
        auto o = locate_controllers(layout)[static_cast<size_t>(Controller::hugetlb)];
        return o && layout.hierarchies[*o].unified;
    }

    std::string name;
    Layout layout;
    std::vector<std::unique_ptr<Manager>> managers;
    std::vector<pid_t> children;
    std::map<pid_t, int> gates;
};

int spin(std::atomic_ref<uint64_t> counter) {
    for (;;)
        counter.fetch_add(1, std::memory_order_relaxed);
}

bool makes_progress(std::atomic_ref<uint64_t> counter) {
    uint64_t before = counter.load();
    sleep_ms(100);
    return counter.load() != before;
}

char proc_state(pid_t pid) {
    std::string stat = berth::read_file("/proc/" + std::to_string(pid) + "/stat");
    auto paren = stat.rfind(')');
    return paren + 2 < stat.size() ? stat[paren + 2] : '?';
}

// How many CGROUP_DEVICE programs are attached directly to a cgroup directory.
uint32_t attached_device_programs(const std::string& dir) {
    berth::UniqueFd fd = berth::open_file(dir, O_RDONLY | O_DIRECTORY);
    uint32_t ids[16];
    bpf_attr attr{};
    attr.query.target_fd = static_cast<uint32_t>(fd.get());
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = reinterpret_cast<uint64_t>(ids);
    attr.query.prog_cnt = 16;
    if (::syscall(SYS_bpf, BPF_PROG_QUERY, &attr, sizeof attr) < 0) return 1000;
    return attr.query.prog_cnt;
}

// 0: /dev/null opened and /dev/zero refused with EPERM; other values say what went wrong.
int open_null_but_not_zero() {
    int null_fd = ::open("/dev/null", O_RDWR);
    if (null_fd < 0) return 10;
    ::close(null_fd);
    int zero_fd = ::open("/dev/zero", O_RDONLY);
    if (zero_fd >= 0) return 11;
    return errno == EPERM ? 0 : 12;
}

int open_both() {
    int a = ::open("/dev/null", O_RDWR), b = ::open("/dev/zero", O_RDONLY);
    int result = (a >= 0 && b >= 0) ? 0 : 13;
    if (a >= 0) ::close(a);
    if (b >= 0) ::close(b);
    return result;
}

}  // namespace

TEST_F(CgroupTest, ThisHostIsHybridWithHugetlbInCgroup2) {
    if (!hybrid()) GTEST_SKIP() << "not the hybrid host these tests were written on";
    Owners owners = locate_controllers(layout);
    auto owner = [&](Controller c) -> const Hierarchy* {
        auto o = owners[static_cast<size_t>(c)];
        return o ? &layout.hierarchies[*o] : nullptr;
    };
    if (hugetlb_in_cgroup2()) {
        EXPECT_TRUE(owner(Controller::hugetlb)->unified);
    } else {
        std::cerr
            << "note: hugetlb is not in cgroup2 right now (bound to a v1 hierarchy elsewhere)\n";
    }
    for (Controller c :
         {Controller::cpu, Controller::cpuacct, Controller::cpuset, Controller::memory,
          Controller::devices, Controller::freezer, Controller::blkio, Controller::pids}) {
        ASSERT_NE(owner(c), nullptr) << controller_name(c);
        EXPECT_FALSE(owner(c)->unified) << controller_name(c);
    }
    EXPECT_EQ(owner(Controller::net_cls), nullptr);
}

TEST_F(CgroupTest, CreatePlacesTheContainerInEveryHierarchy) {
    Manager& m = open("/" + name);
    m.create();
    auto placements = m.placements();
    EXPECT_EQ(placements.size(), layout.hierarchies.size());
    for (const auto& p : placements) {
        EXPECT_EQ(p.path, "/" + name);
        EXPECT_TRUE(fs::is_directory(p.hierarchy.mountpoint + p.path)) << p.hierarchy.mountpoint;
    }
    // A new v1 cpuset directory got its parent's cpus and mems, so tasks can join it.
    std::string cpuset = dir_of(m, "cpuset");
    if (!cpuset.empty()) {
        EXPECT_FALSE(read_trimmed(cpuset + "/cpuset.cpus").empty());
        EXPECT_FALSE(read_trimmed(cpuset + "/cpuset.mems").empty());
    }
    pid_t child = spawn([] { return ::pause(); });
    m.add_process(child);
    for (const auto& p : placements) {
        auto procs =
            parse_pids(berth::read_file(p.hierarchy.mountpoint + p.path + "/cgroup.procs"));
        EXPECT_EQ(procs, std::vector<pid_t>{child}) << p.hierarchy.mountpoint;
    }
    EXPECT_EQ(m.pids(), std::vector<pid_t>{child});
}

TEST_F(CgroupTest, AppliesEveryV1ControllerAndReadsItBack) {
    if (!hybrid()) GTEST_SKIP() << "written for this hybrid host";
    Manager& m = open("/" + name);
    m.create();
    if (hugetlb_in_cgroup2())
        m.apply(resources(R"({"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]})"));
    m.apply(resources(R"({
        "devices": [{"allow": false, "access": "rwm"},
                    {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
                    {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "r"}],
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "burst": 10000,
                "realtimePeriod": 1000000, "realtimeRuntime": 10000, "cpus": "0", "mems": "0"},
        "memory": {"limit": 67108864, "swap": 134217728, "reservation": 33554432, "kernel": 67108864,
                   "swappiness": 10, "disableOOMKiller": false},
        "pids": {"limit": 100},
        "blockIO": {"throttleReadBpsDevice": [{"major": 254, "minor": 0, "rate": 10485760}],
                    "throttleWriteIOPSDevice": [{"major": 254, "minor": 0, "rate": 300}]}
    })"));
    const std::string cpu = dir_of(m, "cpu"), memory = dir_of(m, "memory"),
                      pids = dir_of(m, "pids"), blkio = dir_of(m, "blkio"),
                      cpuset = dir_of(m, "cpuset"), devices = dir_of(m, "devices");
    EXPECT_EQ(read_trimmed(cpu + "/cpu.shares"), "512");
    EXPECT_EQ(read_trimmed(cpu + "/cpu.cfs_quota_us"), "50000");
    EXPECT_EQ(read_trimmed(cpu + "/cpu.cfs_period_us"), "100000");
    EXPECT_EQ(read_trimmed(cpu + "/cpu.cfs_burst_us"), "10000");
    EXPECT_EQ(read_trimmed(cpu + "/cpu.rt_period_us"), "1000000");
    EXPECT_EQ(read_trimmed(cpu + "/cpu.rt_runtime_us"), "10000");
    EXPECT_EQ(read_trimmed(cpuset + "/cpuset.cpus"), "0");
    EXPECT_EQ(read_trimmed(cpuset + "/cpuset.mems"), "0");
    EXPECT_EQ(read_trimmed(memory + "/memory.limit_in_bytes"), "67108864");
    EXPECT_EQ(read_trimmed(memory + "/memory.memsw.limit_in_bytes"), "134217728");
    EXPECT_EQ(read_trimmed(memory + "/memory.soft_limit_in_bytes"), "33554432");
    EXPECT_EQ(read_trimmed(memory + "/memory.swappiness"), "10");
    EXPECT_NE(berth::read_file(memory + "/memory.oom_control").find("oom_kill_disable 0"),
              std::string::npos);
    EXPECT_EQ(read_trimmed(pids + "/pids.max"), "100");
    // A weight needs CFQ's or BFQ's file; a kernel with neither (no BFQ built in) refuses it
    // with an error naming the field, as runc does.
    const std::string weight = cg_exists(blkio, "blkio.weight")       ? "blkio.weight"
                               : cg_exists(blkio, "blkio.bfq.weight") ? "blkio.bfq.weight"
                                                                      : "";
    const auto weight_200 = resources(R"({"blockIO": {"weight": 200}})");
    if (!weight.empty()) {
        m.apply(weight_200);
        EXPECT_NE(berth::read_file(blkio + "/" + weight).find("200"), std::string::npos);
    } else {
        try {
            m.apply(weight_200);
            ADD_FAILURE() << "a blkio weight was accepted without a weight file";
        } catch (const berth::Error& e) {
            EXPECT_NE(std::string(e.what()).find("linux.resources.blockIO"), std::string::npos)
                << e.what();
        }
    }
    EXPECT_EQ(read_trimmed(blkio + "/blkio.throttle.read_bps_device"), "254:0 10485760");
    EXPECT_EQ(read_trimmed(blkio + "/blkio.throttle.write_iops_device"), "254:0 300");
    EXPECT_EQ(berth::read_file(devices + "/devices.list"), "c 1:3 rwm\nc 1:5 r\n");
    // hugetlb lives in cgroup2 here.
    if (hugetlb_in_cgroup2()) {
        EXPECT_EQ(read_trimmed(unified_dir(m) + "/hugetlb.2MB.max"), "4194304");
        if (cg_exists(unified_dir(m), "hugetlb.2MB.rsvd.max")) {
            EXPECT_EQ(read_trimmed(unified_dir(m) + "/hugetlb.2MB.rsvd.max"), "4194304");
        }
    }

    // update: raise memory and swap (memsw has to go first), then lower both (limit first).
    m.update(resources(
        R"({"memory": {"limit": 268435456, "swap": 536870912, "disableOOMKiller": true}})"));
    EXPECT_EQ(read_trimmed(memory + "/memory.limit_in_bytes"), "268435456");
    EXPECT_EQ(read_trimmed(memory + "/memory.memsw.limit_in_bytes"), "536870912");
    EXPECT_NE(berth::read_file(memory + "/memory.oom_control").find("oom_kill_disable 1"),
              std::string::npos);
    m.update(resources(
        R"({"memory": {"limit": 33554432, "swap": 50331648, "disableOOMKiller": false}})"));
    EXPECT_EQ(read_trimmed(memory + "/memory.limit_in_bytes"), "33554432");
    EXPECT_EQ(read_trimmed(memory + "/memory.memsw.limit_in_bytes"), "50331648");
    EXPECT_NE(berth::read_file(memory + "/memory.oom_control").find("oom_kill_disable 0"),
              std::string::npos);
    m.update(resources(
        R"({"memory": {"limit": -1}, "pids": {"limit": -1}, "cpu": {"quota": -1, "idle": 1}})"));
    EXPECT_EQ(read_trimmed(memory + "/memory.memsw.limit_in_bytes"), "9223372036854771712");
    EXPECT_EQ(read_trimmed(pids + "/pids.max"), "max");
    EXPECT_EQ(read_trimmed(cpu + "/cpu.cfs_quota_us"), "-1");
    EXPECT_EQ(read_trimmed(cpu + "/cpu.idle"), "1");
}

TEST_F(CgroupTest, RefusedWritesAndAbsentControllersAreOneLineErrors) {
    if (!hybrid()) GTEST_SKIP() << "written for this hybrid host";
    Manager& m = open("/" + name);
    m.create();
    auto message = [&](const char* json) -> std::string {
        try {
            m.apply(resources(json));
        } catch (const berth::Error& e) {
            return e.what();
        }
        return "no error";
    };
    EXPECT_EQ(
        message(R"({"network": {"classID": 1}})"),
        "linux.resources.network.classID: the net_cls controller is not available on this host");
    std::string refused = message(R"({"cpu": {"cpus": "63"}})");
    EXPECT_NE(
        refused.find("cannot write \"63\" to /sys/fs/cgroup/cpuset/" + name + "/cpuset.cpus: "),
        std::string::npos)
        << refused;
    EXPECT_EQ(refused.find('\n'), std::string::npos);
    EXPECT_NE(
        message(R"({"unified": {"memory.high": "1000000"}})").find("managed through cgroup v1"),
        std::string::npos);
    if (hugetlb_in_cgroup2()) {
        // hugetlb lives in cgroup2: its unified keys are fine.
        EXPECT_EQ(message(R"({"unified": {"hugetlb.2MB.max": "2097152"}})"), "no error");
        EXPECT_EQ(read_trimmed(unified_dir(m) + "/hugetlb.2MB.max"), "2097152");
        EXPECT_NE(message(R"({"hugepageLimits": [{"pageSize": "4MB", "limit": 0}]})")
                      .find("page size 4MB"),
                  std::string::npos);
    } else {
        EXPECT_EQ(
            message(R"({"hugepageLimits": [{"pageSize": "2MB", "limit": 0}]})"),
            "linux.resources.hugepageLimits: the hugetlb controller is not available on this host");
    }
}

TEST_F(CgroupTest, FreezeThawAndKillWithTheV1Freezer) {
    Manager& m = open("/" + name);
    m.create();
    SharedCounter counter;
    pid_t child = spawn([&] { return spin(*counter); });
    m.add_process(child);
    release(child);
    ASSERT_TRUE(makes_progress(*counter));
    EXPECT_FALSE(m.frozen());
    m.freeze();
    EXPECT_TRUE(m.frozen());
    EXPECT_FALSE(makes_progress(*counter));
    m.thaw();
    EXPECT_FALSE(m.frozen());
    EXPECT_TRUE(makes_progress(*counter));
    EXPECT_EQ(m.pids(), std::vector<pid_t>{child});

    m.kill_all(SIGTERM);  // freezes, signals every pid, thaws
    int status = reap(child);
    ASSERT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), SIGTERM);
    EXPECT_FALSE(m.frozen());

    // SIGKILL goes through cgroup.kill of the unified directory where there is one.
    pid_t second = spawn([] { return ::pause(); });
    m.add_process(second);
    m.freeze();
    m.kill_all(SIGKILL);  // and thaws, so that the frozen task can die
    status = reap(second);
    ASSERT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), SIGKILL);
    EXPECT_TRUE(m.pids().empty());
}

TEST_F(CgroupTest, MemoryLimitIsEnforced) {
    Manager& m = open("/" + name);
    m.create();
    m.apply(resources(R"({"memory": {"limit": 33554432, "swap": 33554432}})"));
    pid_t child = spawn([] {
        // Touch 256 MiB, far above the limit.
        const size_t size = 256u << 20;
        char* p = static_cast<char*>(
            ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        if (p == MAP_FAILED) return 2;
        for (size_t i = 0; i < size; i += 4096)
            p[i] = 1;
        return 0;
    });
    m.add_process(child);
    release(child);
    int status = reap(child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "exit status " << status;
    EXPECT_EQ(WTERMSIG(status), SIGKILL);
    auto stats = m.stats();
    // The peak reached the limit (this kernel keeps failcnt at 0 for v1 memory).
    EXPECT_EQ(stats["memory"]["usage"]["max"].get<uint64_t>(), 33554432u) << stats["memory"].dump();
    std::string memory = dir_of(m, "memory");
    if (!memory.empty()) {
        auto oom_kills = keyed_value(berth::read_file(memory + "/memory.oom_control"), "oom_kill");
        EXPECT_EQ(oom_kills, std::optional<uint64_t>(1));
    }
}

TEST_F(CgroupTest, PidsLimitIsEnforced) {
    Manager& m = open("/" + name);
    m.create();
    m.apply(resources(R"({"pids": {"limit": 1}})"));
    pid_t child = spawn([] {
        pid_t grandchild = ::fork();
        if (grandchild == 0) ::_exit(0);
        if (grandchild > 0) {
            ::waitpid(grandchild, nullptr, 0);
            return 1;  // fork succeeded: the limit did not hold
        }
        return errno == EAGAIN ? 0 : 2;
    });
    m.add_process(child);
    release(child);
    int status = reap(child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: fork succeeded, 2: another error";
    EXPECT_EQ(m.stats()["pids"]["limit"], 1);
}

TEST_F(CgroupTest, V1DeviceRulesDenyAndAllow) {
    Manager& m = open("/" + name);
    m.create();
    m.apply(resources(R"({"devices": [{"allow": false, "access": "rwm"},
                                      {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]})"));
    pid_t child = spawn(open_null_but_not_zero);
    m.add_process(child);
    release(child);
    int status = reap(child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0)
        << "10: /dev/null refused, 11: /dev/zero opened, 12: not EPERM";
}

TEST_F(CgroupTest, V2DeviceProgramOnTheUnifiedHierarchy) {
    auto unified = unified_only();
    if (!unified) GTEST_SKIP() << "no cgroup2 hierarchy";
    Manager& m = open("/" + name, &*unified);
    m.create();
    ASSERT_EQ(m.placements().size(), 1u);
    const std::string dir = unified_dir(m);
    m.apply(resources(R"({"devices": [{"allow": false, "access": "rwm"},
                                      {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
                                      {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "w"}]})"));
    EXPECT_EQ(attached_device_programs(dir), 1u);
    pid_t child = spawn(open_null_but_not_zero);
    m.add_process(child);
    release(child);
    int status = reap(child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0)
        << "10: /dev/null refused, 11: /dev/zero opened, 12: not EPERM";

    // An update replaces the program: still exactly one attached, with the new rules.
    m.update(resources(R"({"devices": [{"allow": false, "access": "rwm"},
                                       {"allow": true, "type": "c", "major": 1, "access": "rw"}]})"));
    EXPECT_EQ(attached_device_programs(dir), 1u);
    pid_t second = spawn(open_both);
    m.add_process(second);
    release(second);
    status = reap(second);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(CgroupTest, V2FreezerAndKillOnTheUnifiedHierarchy) {
    auto unified = unified_only();
    if (!unified) GTEST_SKIP() << "no cgroup2 hierarchy";
    Manager& m = open("/" + name, &*unified);
    m.create();
    SharedCounter counter;
    pid_t child = spawn([&] { return spin(*counter); });
    m.add_process(child);
    release(child);
    ASSERT_TRUE(makes_progress(*counter));
    m.freeze();
    EXPECT_TRUE(m.frozen());
    EXPECT_FALSE(makes_progress(*counter));
    EXPECT_EQ(proc_state(child), 'S');  // frozen v2 tasks sleep in the signal-stop path
    m.thaw();
    EXPECT_FALSE(m.frozen());
    EXPECT_TRUE(makes_progress(*counter));
    m.kill_all(SIGTERM);
    int status = reap(child);
    ASSERT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), SIGTERM);

    pid_t second = spawn([] { return ::pause(); });
    m.add_process(second);
    m.kill_all(SIGKILL);  // cgroup.kill
    status = reap(second);
    ASSERT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

TEST_F(CgroupTest, HugetlbThroughCgroup2) {
    Owners owners = locate_controllers(layout);
    auto o = owners[static_cast<size_t>(Controller::hugetlb)];
    if (!o || !layout.hierarchies[*o].unified) GTEST_SKIP() << "hugetlb is not in cgroup2 here";
    Manager& m = open("/" + name + "/nested");
    m.create();
    // 1 GB pages only where the kernel offers them; elsewhere asking for them is an error.
    const bool has_1gb = std::filesystem::exists("/sys/kernel/mm/hugepages/hugepages-1048576kB");
    const auto with_1gb = resources(R"({"hugepageLimits": [{"pageSize": "2MB", "limit": 6291456},
                                                           {"pageSize": "1GB", "limit": 0}]})");
    const std::string dir = unified_dir(m);
    if (has_1gb) {
        m.apply(with_1gb);
        EXPECT_EQ(read_trimmed(dir + "/hugetlb.1GB.max"), "0");
    } else {
        try {
            m.apply(with_1gb);
            ADD_FAILURE() << "1GB pages were accepted by a kernel without them";
        } catch (const berth::Error& e) {
            EXPECT_NE(std::string(e.what()).find("page size 1GB is not supported"),
                      std::string::npos)
                << e.what();
        }
        m.apply(resources(R"({"hugepageLimits": [{"pageSize": "2MB", "limit": 6291456}]})"));
    }
    EXPECT_EQ(read_trimmed(dir + "/hugetlb.2MB.max"), "6291456");
    // Enabled in every ancestor's subtree_control.
    const std::string parent = dir.substr(0, dir.rfind('/'));
    EXPECT_NE(berth::read_file(parent + "/cgroup.subtree_control").find("hugetlb"),
              std::string::npos);
    auto stats = m.stats();
    EXPECT_TRUE(stats["hugetlb"].contains("2MB"));
}

TEST_F(CgroupTest, StatsAreSane) {
    Manager& m = open("/" + name);
    m.create();
    m.apply(resources(R"({"pids": {"limit": 50}, "memory": {"limit": 134217728}})"));
    SharedCounter counter;
    pid_t child = spawn([&] {
        // Pages touched after joining are charged to the container (v1 does not move charges).
        const size_t size = 4u << 20;
        void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED) std::memset(p, 1, size);
        return spin(*counter);
    });
    m.add_process(child);
    release(child);
    sleep_ms(200);
    auto s = m.stats();
    SCOPED_TRACE(s.dump());
    ASSERT_TRUE(s["cpu"].contains("usage"));
    // At least 10 ms of the 200 ms spent spinning, also on a busy machine.
    EXPECT_GT(s["cpu"]["usage"]["total"].get<uint64_t>(), 10'000'000u);
    EXPECT_LE(s["cpu"]["usage"]["total"].get<uint64_t>(), 2'000'000'000u);
    EXPECT_GT(s["cpu"]["usage"]["user"].get<uint64_t>(), 0u);
    EXPECT_GE(s["memory"]["usage"].value("usage", uint64_t{0}), 4u << 20);
    EXPECT_EQ(s["memory"]["usage"]["limit"], 134217728);
    EXPECT_TRUE(s["memory"]["raw"].contains("rss") || s["memory"]["raw"].contains("anon"));
    EXPECT_EQ(s["pids"]["current"], 1);
    EXPECT_EQ(s["pids"]["limit"], 50);
    EXPECT_FALSE(s["cpuset"]["cpus"].empty());
    EXPECT_TRUE(s.contains("blkio"));
    EXPECT_TRUE(s.contains("hugetlb"));
}

TEST_F(CgroupTest, DestroyRemovesNestedCgroupsAndCreatedParentsOnly) {
    Manager& m = open("/" + name + "/pod/ctr");
    m.create();
    // A cgroup made inside the container (as a nested runtime or systemd would).
    std::string memory = dir_of(m, "memory");
    ASSERT_FALSE(memory.empty());
    ASSERT_EQ(::mkdir((memory + "/inner").c_str(), 0755), 0);
    std::string unified = unified_dir(m);
    if (!unified.empty()) {
        ASSERT_EQ(::mkdir((unified + "/inner").c_str(), 0755), 0);
    }
    m.destroy();
    for (const auto& h : layout.hierarchies)
        EXPECT_FALSE(fs::exists(h.mountpoint + "/" + name)) << h.mountpoint;
    m.destroy();  // already gone: fine

    // A parent that existed before is left alone.
    for (const auto& h : layout.hierarchies)
        ASSERT_EQ(::mkdir((h.mountpoint + "/" + name).c_str(), 0755), 0);
    Manager& second = open("/" + name + "/ctr");
    second.create();
    second.destroy();
    for (const auto& h : layout.hierarchies) {
        EXPECT_TRUE(fs::exists(h.mountpoint + "/" + name)) << h.mountpoint;
        EXPECT_FALSE(fs::exists(h.mountpoint + "/" + name + "/ctr")) << h.mountpoint;
    }
}

TEST_F(CgroupTest, DestroyWaitsForAKilledProcessToLeave) {
    Manager& m = open("/" + name);
    m.create();
    pid_t child = spawn([] { return ::pause(); });
    m.add_process(child);
    ::kill(child, SIGKILL);
    m.destroy();  // the dying task may still be there for a moment: retried
    reap(child);
    for (const auto& h : layout.hierarchies)
        EXPECT_FALSE(fs::exists(h.mountpoint + "/" + name)) << h.mountpoint;
}

TEST_F(CgroupTest, CreateRollsBackWhenAHierarchyFails) {
    Layout broken = layout;
    Hierarchy missing;
    missing.controllers = "pids";
    missing.mountpoint = "/sys/fs/cgroup/no-such-hierarchy";
    broken.hierarchies.push_back(missing);
    Manager& m = open("/" + name + "/a/b", &broken);
    EXPECT_THROW(m.create(), berth::SystemError);
    for (const auto& h : layout.hierarchies)
        EXPECT_FALSE(fs::exists(h.mountpoint + "/" + name)) << h.mountpoint;
}

TEST_F(CgroupTest, SavedStateDrivesLaterVerbs) {
    Manager& m = open("/" + name);
    m.create();
    pid_t child = spawn([] { return ::pause(); });
    m.add_process(child);
    auto saved = nlohmann::json::parse(m.to_json().dump());
    auto later = Manager::from_json(saved);
    EXPECT_EQ(later->pids(), std::vector<pid_t>{child});
    EXPECT_EQ(later->placements().size(), m.placements().size());
    later->update(resources(R"({"pids": {"limit": 7}})"));
    later->freeze();
    EXPECT_TRUE(m.frozen());
    later->thaw();
    later->kill_all(SIGKILL);
    reap(child);
    later->destroy();
    for (const auto& h : layout.hierarchies)
        EXPECT_FALSE(fs::exists(h.mountpoint + "/" + name)) << h.mountpoint;
}

TEST_F(CgroupTest, SystemdFormIsManagedThroughCgroupfs) {
    // A slice name without dashes: each dash is a level of slices.
    std::string slice = name;
    slice.erase(std::remove(slice.begin(), slice.end(), '-'), slice.end());
    Options o;
    o.cgroups_path = slice + ".slice:berth:ctr";
    o.container_id = "ctr";
    o.systemd = true;
    managers.push_back(Manager::open(o));
    Manager& m = *managers.back();
    m.create();
    for (const auto& p : m.placements()) {
        EXPECT_EQ(p.path, "/" + slice + ".slice/berth-ctr.scope");
        EXPECT_TRUE(fs::is_directory(p.hierarchy.mountpoint + p.path));
    }
    m.destroy();
    for (const auto& h : layout.hierarchies)
        EXPECT_FALSE(fs::exists(h.mountpoint + "/" + slice + ".slice"));
    // TearDown sweeps by the test's name; sweep the slice here.
    for (const auto& h : layout.hierarchies)
        force_remove(h.mountpoint + "/" + slice + ".slice");
}
