#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>

#include "common/json_reader.hpp"
#include "oci/default_spec.hpp"
#include "oci/runtime_spec.hpp"

using namespace berth;
using nlohmann::json;

namespace {

json base_spec() {
    return json::parse(oci::default_spec({}).dump());
}

// Expects parse_spec to reject doc with a message that starts with `field`.
void expect_rejected(const json& doc, const std::string& field) {
    try {
        oci::parse_spec(doc);
        FAIL() << "accepted a config that should name " << field;
    } catch (const InvalidDocument& e) {
        EXPECT_EQ(std::string(e.what()).rfind(field, 0), 0u) << e.what();
    }
}

}  // namespace

TEST(RuntimeSpec, DefaultSpecParses) {
    oci::Spec spec = oci::parse_spec(base_spec());
    ASSERT_TRUE(spec.process);
    EXPECT_EQ(spec.process->args, std::vector<std::string>{"sh"});
    EXPECT_EQ(spec.root.path, "rootfs");
    EXPECT_TRUE(spec.root.readonly);
    EXPECT_EQ(spec.mounts.size(), 7u);
    EXPECT_TRUE(spec.linux.has_new_namespace(oci::NamespaceType::network));
    EXPECT_FALSE(spec.linux.find_namespace(oci::NamespaceType::user));
    ASSERT_EQ(spec.process->rlimits.size(), 1u);
    EXPECT_EQ(spec.process->rlimits[0].hard, 1024u);
    ASSERT_TRUE(spec.linux.resources);
    ASSERT_EQ(spec.linux.resources->devices.size(), 1u);
    EXPECT_FALSE(spec.linux.resources->devices[0].allow);
    EXPECT_FALSE(spec.linux.resources->devices[0].major);
}

TEST(RuntimeSpec, RootlessSpecHasUserNamespaceAndMappings) {
    oci::Spec spec =
        oci::parse_spec(json::parse(oci::default_spec({true, 1000, 1000, false}).dump()));
    EXPECT_TRUE(spec.linux.has_new_namespace(oci::NamespaceType::user));
    EXPECT_FALSE(spec.linux.find_namespace(oci::NamespaceType::network));
    ASSERT_EQ(spec.linux.uid_mappings.size(), 1u);
    EXPECT_EQ(spec.linux.uid_mappings[0].host_id, 1000u);
}

TEST(RuntimeSpec, ParsesResourcesAndSeccomp) {
    json doc = base_spec();
    doc["linux"]["resources"]["memory"] = {{"limit", 1 << 20}, {"swap", 2 << 20}};
    doc["linux"]["resources"]["cpu"] = {{"quota", 50000}, {"period", 100000}, {"cpus", "0-1"}};
    doc["linux"]["resources"]["pids"] = {{"limit", 10}};
    doc["linux"]["seccomp"] = {
        {"defaultAction", "SCMP_ACT_ERRNO"},
        {"defaultErrnoRet", 1},
        {"architectures", {"SCMP_ARCH_X86_64"}},
        {"syscalls",
         {{{"names", {"getcwd"}},
           {"action", "SCMP_ACT_ALLOW"},
           {"args",
            {{{"index", 1}, {"value", 2}, {"op", "SCMP_CMP_MASKED_EQ"}, {"valueTwo", 2}}}}}}}};
    doc["linux"]["rootfsPropagation"] = "rslave";
    oci::Spec spec = oci::parse_spec(doc);
    EXPECT_EQ(spec.linux.resources->memory->limit, 1 << 20);
    EXPECT_EQ(spec.linux.resources->cpu->quota, 50000);
    EXPECT_EQ(spec.linux.resources->pids_limit, 10);
    ASSERT_TRUE(spec.linux.seccomp);
    EXPECT_EQ(spec.linux.seccomp->syscalls[0].args[0].op, oci::SeccompArgOp::masked_equal);
    EXPECT_EQ(spec.linux.rootfs_propagation, static_cast<unsigned long>(MS_SLAVE | MS_REC));
}

TEST(RuntimeSpec, RejectsBadJsonNamingTheFile) {
    try {
        parse_json("{\"ociVersion\": ", "/b/config.json");
        FAIL();
    } catch (const InvalidDocument& e) {
        EXPECT_EQ(std::string(e.what()).rfind("/b/config.json: invalid JSON", 0), 0u) << e.what();
    }
}

TEST(RuntimeSpec, RejectsUnknownNamespaceType) {
    json doc = base_spec();
    doc["linux"]["namespaces"].push_back({{"type", "bogus"}});
    expect_rejected(doc, "linux.namespaces[5].type: unknown value \"bogus\"");
}

TEST(RuntimeSpec, RejectsDuplicateNamespace) {
    json doc = base_spec();
    doc["linux"]["namespaces"].push_back({{"type", "pid"}});
    expect_rejected(doc, "linux.namespaces[5].type: duplicate namespace type \"pid\"");
}

TEST(RuntimeSpec, RejectsRelativePaths) {
    json doc = base_spec();
    doc["process"]["cwd"] = "relative/dir";
    expect_rejected(doc, "process.cwd: \"relative/dir\" must be an absolute path");
    doc = base_spec();
    doc["linux"]["namespaces"][0]["path"] = "proc/1/ns/pid";
    expect_rejected(doc, "linux.namespaces[0].path");
    doc = base_spec();
    doc["hooks"]["prestart"] = {{{"path", "hook.sh"}}};
    expect_rejected(doc, "hooks.prestart[0].path");
    doc = base_spec();
    doc["linux"]["maskedPaths"].push_back("proc/x");
    expect_rejected(doc, "linux.maskedPaths[10]");
}

TEST(RuntimeSpec, RejectsInvalidCgroupValues) {
    json doc = base_spec();
    doc["linux"]["resources"]["memory"] = {{"swappiness", 200}};
    expect_rejected(doc, "linux.resources.memory.swappiness");
    doc = base_spec();
    doc["linux"]["resources"]["cpu"] = {{"cpus", "3-1"}};
    expect_rejected(doc, "linux.resources.cpu.cpus");
    doc = base_spec();
    doc["linux"]["resources"]["memory"] = {{"limit", "lots"}};
    expect_rejected(doc, "linux.resources.memory.limit: expected an integer, got string");
    doc = base_spec();
    doc["linux"]["resources"]["memory"] = {{"limit", 100 << 20}, {"swap", 10 << 20}};
    expect_rejected(doc, "linux.resources.memory.swap");
    doc = base_spec();
    doc["linux"]["resources"]["devices"][0]["access"] = "rwx";
    expect_rejected(doc, "linux.resources.devices[0].access");
    doc = base_spec();
    doc["linux"]["resources"]["hugepageLimits"] = {{{"pageSize", "2M"}, {"limit", 1}}};
    expect_rejected(doc, "linux.resources.hugepageLimits[0].pageSize");
    doc = base_spec();
    doc["linux"]["resources"]["unified"] = {{"../memory.max", "1"}};
    expect_rejected(doc, "linux.resources.unified.../memory.max");
}

TEST(RuntimeSpec, RejectsUnknownSeccompActionAndListener) {
    json doc = base_spec();
    doc["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_EXPLODE"}};
    expect_rejected(doc,
                    "linux.seccomp.defaultAction: unknown seccomp action \"SCMP_ACT_EXPLODE\"");
    doc = base_spec();
    doc["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_NOTIFY"},
                               {"listenerPath", "run/l.sock"}};
    expect_rejected(doc, "linux.seccomp.listenerPath: must be an absolute path");
    doc = base_spec();
    doc["linux"]["seccomp"] = {
        {"defaultAction", "SCMP_ACT_ALLOW"},
        {"syscalls",
         {{{"names", {"read"}},
           {"action", "SCMP_ACT_ALLOW"},
           {"args", {{{"index", 7}, {"value", 1}, {"op", "SCMP_CMP_EQ"}}}}}}}};
    expect_rejected(doc, "linux.seccomp.syscalls[0].args[0].index");
}

TEST(RuntimeSpec, RejectsContradictions) {
    json doc = base_spec();
    doc["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}};
    expect_rejected(doc, "linux: uidMappings/gidMappings need a user namespace");
    doc = base_spec();
    doc["linux"]["namespaces"].erase(3);  // uts
    expect_rejected(doc, "hostname: setting the hostname needs a uts namespace");
    doc = base_spec();
    doc["process"]["rlimits"][0]["soft"] = 4096;
    expect_rejected(doc, "process.rlimits[0]: soft limit is greater than the hard limit");
    doc = base_spec();
    doc["process"]["rlimits"][0]["type"] = "RLIMIT_FOO";
    expect_rejected(doc, "process.rlimits[0].type: unknown value \"RLIMIT_FOO\"");
    doc = base_spec();
    doc["ociVersion"] = "2.0.0";
    expect_rejected(doc, "ociVersion");
    doc = base_spec();
    doc.erase("root");
    expect_rejected(doc, "root: required field is missing");
}

TEST(RuntimeSpec, IgnoresUnknownFieldsAsTheSpecRequires) {
    json doc = base_spec();
    doc["somethingNew"] = {{"x", 1}};
    doc["process"]["futureField"] = true;
    EXPECT_NO_THROW(oci::parse_spec(doc));
}

TEST(RuntimeSpec, RelativeMountDestinationIsRelativeToRoot) {
    json doc = base_spec();
    doc["mounts"].push_back({{"destination", "data"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
    oci::Spec spec = oci::parse_spec(doc);
    EXPECT_EQ(spec.mounts.back().destination, "/data");
}
