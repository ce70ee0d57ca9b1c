// The engine's parsers and formats without privileges: -p/-v/--mount/--tmpfs specs, sizes,
// durations, signals, ulimits, restart policies, the CRI log (records, partial lines,
// rotation), the attach framing, the monitor configuration's JSON round trip, start-error
// classification.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/error.hpp"
#include "engine/container/specs.hpp"
#include "engine/monitor/attach_protocol.hpp"
#include "engine/monitor/config.hpp"
#include "engine/monitor/cri_log.hpp"
#include "engine/monitor/monitor.hpp"

using namespace berth;
using namespace berth::engine;

TEST(EngineSpecs, PublishForms) {
    auto p = parse_publish("8080:80");
    ASSERT_EQ(p.size(), 1U);
    EXPECT_EQ(p[0].host_port, 8080);
    EXPECT_EQ(p[0].container_port, 80);
    EXPECT_EQ(p[0].protocol, "tcp");
    EXPECT_EQ(p[0].host_ip, "");
    p = parse_publish("127.0.0.1:53:5353/udp");
    EXPECT_EQ(p[0].host_ip, "127.0.0.1");
    EXPECT_EQ(p[0].host_port, 53);
    EXPECT_EQ(p[0].container_port, 5353);
    EXPECT_EQ(p[0].protocol, "udp");
    p = parse_publish("80");
    EXPECT_EQ(p[0].host_port, 0);  // a free port, chosen at start
    EXPECT_THROW(parse_publish("80:0"), Error);
    EXPECT_THROW(parse_publish("70000:80"), Error);
    EXPECT_THROW(parse_publish("80/icmp"), Error);
    EXPECT_THROW(parse_publish("a:b:c:d"), Error);
    EXPECT_THROW(parse_publish("8000-8010:80"), Error);
}

TEST(EngineSpecs, VolumeFlag) {
    auto bind = parse_volume_flag("/srv/data:/data:ro");
    EXPECT_EQ(bind.type, "bind");
    EXPECT_EQ(bind.source, "/srv/data");
    EXPECT_EQ(bind.destination, "/data");
    EXPECT_TRUE(bind.readonly);
    auto named = parse_volume_flag("cache:/var/cache/");
    EXPECT_EQ(named.type, "volume");
    EXPECT_EQ(named.source, "cache");
    EXPECT_EQ(named.destination, "/var/cache");
    auto anonymous = parse_volume_flag("/scratch");
    EXPECT_EQ(anonymous.type, "volume");
    EXPECT_EQ(anonymous.source, "");
    EXPECT_THROW(parse_volume_flag("rel/path:/data"), Error);
    EXPECT_THROW(parse_volume_flag("cache:data"), Error);
    EXPECT_THROW(parse_volume_flag("cache:/"), Error);
    EXPECT_THROW(parse_volume_flag("cache:/data:rx"), Error);
    EXPECT_THROW(parse_volume_flag(""), Error);
}

TEST(EngineSpecs, MountAndTmpfsFlags) {
    auto m = parse_mount_flag("type=bind,source=/a,target=/b,readonly");
    EXPECT_EQ(m.type, "bind");
    EXPECT_TRUE(m.readonly);
    auto t = parse_mount_flag("type=tmpfs,target=/t,tmpfs-size=1m");
    EXPECT_EQ(t.tmpfs_options, "size=1m");
    EXPECT_THROW(parse_mount_flag("type=nfs,target=/x"), Error);
    EXPECT_THROW(parse_mount_flag("type=bind,source=rel,target=/x"), Error);
    EXPECT_THROW(parse_mount_flag("type=volume,target=x"), Error);
    auto tmp = parse_tmpfs_flag("/run:size=64k");
    EXPECT_EQ(tmp.destination, "/run");
    EXPECT_EQ(tmp.tmpfs_options, "size=64k");
}

TEST(EngineSpecs, SizesDurationsSignals) {
    EXPECT_EQ(parse_size("512m"), 512LL << 20);
    EXPECT_EQ(parse_size("1g"), 1LL << 30);
    EXPECT_EQ(parse_size("64KB"), 64LL << 10);
    EXPECT_EQ(parse_size("100"), 100);
    EXPECT_THROW(parse_size("lots"), Error);
    EXPECT_THROW(parse_size("-1m"), Error);
    EXPECT_EQ(parse_duration_ms("30s"), 30000);
    EXPECT_EQ(parse_duration_ms("1m30s"), 90000);
    EXPECT_EQ(parse_duration_ms("250ms"), 250);
    EXPECT_EQ(parse_duration_ms("1.5s"), 1500);
    EXPECT_THROW(parse_duration_ms("soon"), Error);
    EXPECT_EQ(parse_signal("SIGTERM"), 15);
    EXPECT_EQ(parse_signal("kill"), 9);
    EXPECT_EQ(parse_signal("10"), 10);
    EXPECT_THROW(parse_signal("SIGNOPE"), Error);
    EXPECT_EQ(signal_name(15), "SIGTERM");
    auto u = parse_ulimit("nofile=1024:2048");
    EXPECT_EQ(u.type, "RLIMIT_NOFILE");
    EXPECT_EQ(u.soft, 1024U);
    EXPECT_EQ(u.hard, 2048U);
    EXPECT_THROW(parse_ulimit("nofile=2048:1024"), Error);
    EXPECT_THROW(parse_ulimit("bogus=1"), Error);
}

TEST(EngineSpecs, RestartPoliciesAndNames) {
    EXPECT_EQ(parse_restart_policy("no").name, "no");
    auto p = parse_restart_policy("on-failure:3");
    EXPECT_EQ(p.name, "on-failure");
    EXPECT_EQ(p.max_retries, 3);
    EXPECT_EQ(parse_restart_policy("unless-stopped").name, "unless-stopped");
    EXPECT_THROW(parse_restart_policy("always:3"), Error);
    EXPECT_THROW(parse_restart_policy("sometimes"), Error);
    EXPECT_TRUE(valid_name("web-1.a_b"));
    EXPECT_FALSE(valid_name("-web"));
    EXPECT_FALSE(valid_name("we b"));
    EXPECT_FALSE(valid_name(""));
}

TEST(EngineSpecs, StartErrorsClassifiedAsDocker) {
    EXPECT_EQ(classify_start_error("exec: \"/nope\": no such file or directory"), 127);
    EXPECT_EQ(classify_start_error("exec: \"nope\": executable file not found in $PATH"), 127);
    EXPECT_EQ(classify_start_error("exec: \"/etc/passwd\": permission denied"), 126);
    EXPECT_EQ(classify_start_error("linux.resources.memory: cannot be applied"), 125);
}

TEST(EngineCriLog, RecordsPartialLinesAndRotation) {
    std::string dir =
        std::filesystem::temp_directory_path() / ("berth-cri-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::string path = dir + "/container.log";
    {
        CriLogWriter log(path, 200);
        log.write(LogStream::stdout_stream, "one\ntw");
        log.write(LogStream::stderr_stream, "err\n");
        log.write(LogStream::stdout_stream, "o\n");
        log.write(LogStream::stdout_stream, "tail without newline");
        log.flush();
        for (int i = 0; i < 10; ++i)
            log.write(LogStream::stdout_stream, "rotate me please " + std::to_string(i) + "\n");
    }
    EXPECT_TRUE(std::filesystem::exists(path + ".1"));  // rotated at 200 bytes
    auto records = read_cri_log(path);
    ASSERT_GE(records.size(), 4U);
    // Rotation keeps one older file: the earliest records may be gone, never reordered.
    auto all_text = [&] {
        std::string t;
        for (const auto& r : records)
            t += r.content + (r.partial ? "" : "\n");
        return t;
    }();
    EXPECT_NE(all_text.find("rotate me please 9\n"), std::string::npos);
    for (const auto& r : records)
        EXPECT_EQ(r.time.size(), 30U) << r.time;  // 2024-01-02T03:04:05.123456789Z
    auto parsed = parse_cri_line("2024-01-02T03:04:05.000000001Z stderr P half");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->stream, LogStream::stderr_stream);
    EXPECT_TRUE(parsed->partial);
    EXPECT_EQ(parsed->content, "half");
    EXPECT_FALSE(parse_cri_line("garbage"));
    EXPECT_FALSE(parse_cri_line("t stdin F x"));
    std::filesystem::remove_all(dir);
}

TEST(EngineCriLog, FirstRecordsInOrder) {
    std::string dir =
        std::filesystem::temp_directory_path() / ("berth-cri2-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::string path = dir + "/container.log";
    {
        CriLogWriter log(path, 0);
        log.write(LogStream::stdout_stream, "one\ntw");
        log.write(LogStream::stderr_stream, "err\n");
        log.write(LogStream::stdout_stream, "o\n");
        log.write(LogStream::stdout_stream, "end");
        log.flush();
    }
    auto r = read_cri_log(path);
    ASSERT_EQ(r.size(), 4U);
    EXPECT_EQ(r[0].content, "one");
    EXPECT_EQ(r[1].content, "err");
    EXPECT_EQ(r[1].stream, LogStream::stderr_stream);
    EXPECT_EQ(r[2].content, "two");
    EXPECT_EQ(r[3].content, "end");
    EXPECT_TRUE(r[3].partial);
    std::filesystem::remove_all(dir);
}

// A flood of short lines, read in 64 KiB chunks that cut lines anywhere, and lines longer
// than a record: read back whole, in order, none torn or lost.
TEST(EngineCriLog, FloodOfLinesSplitAcrossReadsIsReadBackWhole) {
    std::string dir =
        std::filesystem::temp_directory_path() / ("berth-cri3-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::string path = dir + "/container.log";
    std::string flood;
    for (int i = 0; i < 200000; ++i)
        flood += "line " + std::to_string(i) + "\n";
    const std::string long_line(40000, 'x');
    flood += long_line + "\nlast\n";
    {
        CriLogWriter log(path, 0);
        for (size_t at = 0; at < flood.size(); at += 65536)
            log.write(LogStream::stdout_stream, std::string_view(flood).substr(at, 65536));
        log.flush();
    }
    auto records = read_cri_log(path);
    std::vector<std::string> lines;
    std::string open;
    for (const auto& r : records) {
        open += r.content;
        if (!r.partial) {
            lines.push_back(open);
            open.clear();
        }
    }
    ASSERT_EQ(lines.size(), 200002U);
    for (int i = 0; i < 200000; ++i)
        ASSERT_EQ(lines[static_cast<size_t>(i)], "line " + std::to_string(i));
    EXPECT_EQ(lines[200000], long_line);
    EXPECT_EQ(lines[200001], "last");
    for (const auto& r : records)
        EXPECT_LE(r.content.size(), 16U * 1024U);
    std::filesystem::remove_all(dir);
}

TEST(EngineAttach, FramesSurviveSplitReads) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    ASSERT_TRUE(attach::send(fds[0], attach::Frame::stdout_data, "hello"));
    ASSERT_TRUE(attach::send(fds[0], attach::Frame::exit_code, "137"));
    char buffer[64];
    ssize_t n = ::read(fds[1], buffer, sizeof buffer);
    ASSERT_GT(n, 0);
    attach::Decoder decoder;
    // One byte at a time: a message appears only when complete.
    for (ssize_t i = 0; i < n - 1; ++i)
        decoder.feed(buffer + i, 1);
    auto first = decoder.next();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->type, attach::Frame::stdout_data);
    EXPECT_EQ(first->payload, "hello");
    EXPECT_FALSE(decoder.next());
    decoder.feed(buffer + n - 1, 1);
    auto second = decoder.next();
    ASSERT_TRUE(second);
    EXPECT_EQ(second->type, attach::Frame::exit_code);
    EXPECT_EQ(second->payload, "137");
    ::close(fds[0]);
    ::close(fds[1]);
}

TEST(EngineMonitorConfig, RoundTrip) {
    MonitorConfig c;
    c.id = "abc";
    c.state_db = "/r/state.db";
    c.bundle = "/r/containers/abc";
    c.runtime = "/usr/bin/runc";
    c.runtime_root = "/run/x";
    c.terminal = true;
    c.console_socket = "/run/x/c.sock";
    c.restart = parse_restart_policy("on-failure:2");
    c.health.command = {"/bin/sh", "-c", "true"};
    c.health.interval_ms = 250;
    c.cleanup = {"berth", "container-cleanup", "abc"};
    c.local_cleanup = true;
    c.volume_names = {"v"};
    MonitorConfig back = MonitorConfig::from_json(nlohmann::json::parse(c.to_json().dump()));
    EXPECT_EQ(back.id, "abc");
    EXPECT_TRUE(back.terminal);
    EXPECT_EQ(back.console_socket, "/run/x/c.sock");
    EXPECT_EQ(back.restart.name, "on-failure");
    EXPECT_EQ(back.restart.max_retries, 2);
    EXPECT_EQ(back.health.command.size(), 3U);
    EXPECT_EQ(back.health.interval_ms, 250);
    EXPECT_EQ(back.cleanup, c.cleanup);
    EXPECT_TRUE(back.local_cleanup);
    EXPECT_EQ(back.volume_names, std::vector<std::string>{"v"});
    EXPECT_EQ(back.slirp4netns, "");
    EXPECT_TRUE(back.forwarded_ports.empty());
}

TEST(EngineMonitorConfig, Slirp4netnsRoundTrip) {
    MonitorConfig c;
    c.id = "abc";
    c.state_db = "/r/state.db";
    c.bundle = "/r/containers/abc";
    c.runtime = "/usr/bin/runc";
    c.runtime_root = "/run/x";
    c.log_path = "/r/containers/abc/container.log";
    c.netns = "/run/x/netns/abc";
    c.slirp4netns = "/usr/bin/slirp4netns";
    c.slirp4netns_api_socket = "/run/x/slirp4netns/abc";
    c.forwarded_ports = {{"tcp", "", 8080, 80}, {"udp", "127.0.0.1", 5353, 53}};
    MonitorConfig back = MonitorConfig::from_json(nlohmann::json::parse(c.to_json().dump()));
    EXPECT_EQ(back.slirp4netns, "/usr/bin/slirp4netns");
    EXPECT_EQ(back.slirp4netns_api_socket, "/run/x/slirp4netns/abc");
    ASSERT_EQ(back.forwarded_ports.size(), 2U);
    EXPECT_EQ(back.forwarded_ports[0].protocol, "tcp");
    EXPECT_EQ(back.forwarded_ports[0].host_ip, "");
    EXPECT_EQ(back.forwarded_ports[0].host_port, 8080);
    EXPECT_EQ(back.forwarded_ports[0].container_port, 80);
    EXPECT_EQ(back.forwarded_ports[1].protocol, "udp");
    EXPECT_EQ(back.forwarded_ports[1].host_ip, "127.0.0.1");
    EXPECT_EQ(back.forwarded_ports[1].host_port, 5353);
    EXPECT_EQ(back.forwarded_ports[1].container_port, 53);
}
