// --security-opt seccomp=record:FILE: a run records the system calls its container makes
// (through the monitor's seccomp notification listener), the profile written at its exit
// lets the same program run again, and a call it never made fails with EPERM under it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "support/fixture.hpp"
#include "support/images.hpp"

namespace fs = std::filesystem;
using namespace berth::test;

namespace {

// A static program that writes "ok", and with --extra also calls sysinfo(2), a call nothing
// else in the run makes, and reports its errno.
const char* kProbe = R"(#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>
int main(int argc, char** argv) {
    if (argc > 1 && strcmp(argv[1], "--extra") == 0) {
        struct sysinfo info;
        long rc = syscall(SYS_sysinfo, &info);
        printf("extra: %s\n", rc == 0 ? "ok" : strerror(errno));
    }
    printf("ok\n");
    return 0;
}
)";

class SeccompRecordTest : public ::testing::Test {
  protected:
    TempDir work{"berth-seccomp-record"};
    Berth berth;

    void SetUp() override {
        std::ofstream(work.path() + "/probe.c") << kProbe;
        auto copied = run_command({"cp", "-a", busybox_rootfs_template(), work.path() + "/rootfs"});
        ASSERT_EQ(copied.exit_code, 0) << copied.describe();
        auto cc = run_command({"gcc", "-static", "-O2", "-o", work.path() + "/rootfs/probe",
                               work.path() + "/probe.c"});
        ASSERT_EQ(cc.exit_code, 0) << cc.describe();
        auto tar = run_command(
            {"tar", "-C", work.path() + "/rootfs", "-cf", work.path() + "/probe.tar", "."});
        ASSERT_EQ(tar.exit_code, 0) << tar.describe();
        auto imported = berth({"import", work.path() + "/probe.tar", "localhost/probe:1"});
        ASSERT_EQ(imported.exit_code, 0) << imported.describe();
    }
    void TearDown() override {
        for (const auto& id : lines_of(berth({"ps", "-aq"}).out))
            berth({"rm", "-f", id});
    }
    CommandResult run(const std::vector<std::string>& args) {
        std::vector<std::string> argv{"run", "--rm", "--network", "none"};
        argv.insert(argv.end(), args.begin(), args.end());
        return berth(argv);
    }
    static std::set<std::string> names_in(const nlohmann::json& profile) {
        std::set<std::string> out;
        for (const auto& rule : profile["syscalls"])
            for (const auto& n : rule["names"])
                out.insert(n.get<std::string>());
        return out;
    }
};

}  // namespace

TEST_F(SeccompRecordTest, RecordedProfileRunsTheProgramAndRefusesAnExtraCall) {
    std::string profile_path = work.path() + "/probe.json";
    auto recorded =
        run({"--security-opt", "seccomp=record:" + profile_path, "localhost/probe:1", "/probe"});
    ASSERT_EQ(recorded.exit_code, 0) << recorded.describe();
    EXPECT_EQ(trimmed(recorded.out), "ok");
    ASSERT_TRUE(fs::exists(profile_path));
    auto profile = nlohmann::json::parse(std::ifstream(profile_path));
    EXPECT_EQ(profile["defaultAction"], "SCMP_ACT_ERRNO");
    EXPECT_EQ(profile["architectures"], nlohmann::json::array({"SCMP_ARCH_X86_64"}));
    auto names = names_in(profile);
    for (const char* used : {"execve", "write", "exit_group"})
        EXPECT_TRUE(names.count(used)) << used << " missing from " << profile.dump();
    EXPECT_FALSE(names.count("sysinfo"));
    EXPECT_FALSE(names.count("reboot"));

    auto again = run({"--security-opt", "seccomp=" + profile_path, "localhost/probe:1", "/probe"});
    EXPECT_EQ(again.exit_code, 0) << again.describe();
    EXPECT_EQ(trimmed(again.out), "ok");
    auto extra = run(
        {"--security-opt", "seccomp=" + profile_path, "localhost/probe:1", "/probe", "--extra"});
    EXPECT_EQ(extra.exit_code, 0) << extra.describe();
    EXPECT_EQ(lines_of(extra.out).front(), "extra: Operation not permitted") << extra.out;

    // Recording the extra call adds it.
    std::string with_extra = work.path() + "/extra.json";
    auto recorded_extra = run({"--security-opt", "seccomp=record:" + with_extra,
                               "localhost/probe:1", "/probe", "--extra"});
    ASSERT_EQ(recorded_extra.exit_code, 0) << recorded_extra.describe();
    EXPECT_EQ(lines_of(recorded_extra.out).front(), "extra: ok");
    EXPECT_TRUE(names_in(nlohmann::json::parse(std::ifstream(with_extra))).count("sysinfo"));
    auto allowed =
        run({"--security-opt", "seccomp=" + with_extra, "localhost/probe:1", "/probe", "--extra"});
    EXPECT_EQ(lines_of(allowed.out).front(), "extra: ok") << allowed.describe();
}

TEST_F(SeccompRecordTest, BadRecordOptionsAreRefusedBeforeAnythingIsMade) {
    auto no_dir = run({"--security-opt", "seccomp=record:/nonexistent/dir/p.json",
                       "localhost/probe:1", "/probe"});
    EXPECT_EQ(no_dir.exit_code, 125);
    EXPECT_NE(no_dir.err.find("directory /nonexistent/dir does not exist"), std::string::npos)
        << no_dir.err;
    auto runc = run({"--runtime", "runc", "--security-opt",
                     "seccomp=record:" + work.path() + "/p.json", "localhost/probe:1", "/probe"});
    EXPECT_EQ(runc.exit_code, 125);
    EXPECT_NE(runc.err.find("needs berth-runtime"), std::string::npos) << runc.err;
    EXPECT_EQ(trimmed(berth({"ps", "-aq"}).out), "");
}
