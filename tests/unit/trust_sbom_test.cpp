// SBOM readers over a layered tree made here (whiteouts and opaque directories as the
// snapshots hold them), the layer attribution, rpm headers (SQLite and Berkeley DB), Go
// build info of a real Go binary, and the two writers' required fields.
#include <db.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/file.hpp"
#include "common/remove_tree.hpp"
#include "trust/sbom/catalog.hpp"
#include "trust/sbom/identifiers.hpp"
#include "trust/sbom/readers.hpp"
#include "trust/sbom/rpm_header.hpp"
#include "trust/sbom/writers.hpp"

namespace fs = std::filesystem;
using namespace berth;
using namespace berth::trust::sbom;

namespace {

class SbomTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-sbom-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        base = tmpl;
        for (int i = 0; i < 3; ++i) {
            roots.push_back(base + "/l" + std::to_string(i));
            fs::create_directories(roots.back());
            layers.push_back(digest_of("layer" + std::to_string(i)));
        }
    }
    void TearDown() override { remove_tree(base); }
    void put(int layer, const std::string& path, const std::string& text, mode_t mode = 0644) {
        std::string full = roots[layer] + "/" + path;
        fs::create_directories(fs::path(full).parent_path());
        write_file(full, text, mode);
    }
    void whiteout(int layer, const std::string& path) {
        std::string full = roots[layer] + "/" + path;
        fs::create_directories(fs::path(full).parent_path());
        ASSERT_EQ(::mknod(full.c_str(), S_IFCHR | 0, makedev(0, 0)), 0);
    }
    void opaque(int layer, const std::string& dir) {
        std::string full = roots[layer] + "/" + dir;
        fs::create_directories(full);
        ASSERT_EQ(::setxattr(full.c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
    }
    const Package* find(const Catalog& c, const std::string& type, const std::string& name) {
        for (const auto& p : c.packages)
            if (p.type == type && p.name == name) return &p;
        return nullptr;
    }
    std::string base;
    std::vector<std::string> roots;
    std::vector<Digest> layers;
};

std::string stanza(const std::string& name, const std::string& version,
                   const std::string& extra = "") {
    return "Package: " + name +
           "\nStatus: install ok installed\nArchitecture: amd64\nVersion: " + version + "\n" +
           extra + "Description: x\n more text\n\n";
}

}  // namespace

TEST_F(SbomTest, DpkgPackagesWithTheirLayersAndIdentifiers) {
    put(0, "usr/lib/os-release",
        "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n");
    fs::create_directories(roots[0] + "/etc");
    fs::create_symlink("../usr/lib/os-release", roots[0] + "/etc/os-release");
    put(0, "var/lib/dpkg/status",
        stanza("libc6", "2.36-9", "Source: glibc\nMaintainer: GNU Libc Maintainers <x@y>\n") +
            stanza("bash", "5.2.15-2+b2", "Source: bash (5.2.15-2)\n") + stanza("gone", "1") +
            "Package: removed\nStatus: deinstall ok config-files\nVersion: 1\n\n");
    // Layer 1 upgrades bash, removes "gone" and adds curl.
    put(1, "var/lib/dpkg/status",
        stanza("libc6", "2.36-9", "Source: glibc\n") + stanza("bash", "5.2.15-3") +
            stanza("curl", "7.88.1-10"));
    LayeredTree tree(roots);
    Catalog c = catalog_tree(tree, layers, {});
    EXPECT_EQ(c.os.id, "debian");
    EXPECT_EQ(c.os.version_id, "12");
    ASSERT_EQ(c.packages.size(), 3U);
    const Package* libc = find(c, "deb", "libc6");
    ASSERT_NE(libc, nullptr);
    EXPECT_EQ(libc->layer, layers[0]);
    EXPECT_EQ(libc->source_name, "glibc");
    EXPECT_EQ(libc->purl, "pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12&upstream=glibc");
    EXPECT_EQ(libc->cpe, "cpe:2.3:a:libc6:libc6:2.36-9:*:*:*:*:*:*:*");
    EXPECT_EQ(find(c, "deb", "bash")->layer, layers[1]);
    EXPECT_EQ(find(c, "deb", "bash")->purl,
              "pkg:deb/debian/bash@5.2.15-3?arch=amd64&distro=debian-12");
    EXPECT_EQ(find(c, "deb", "curl")->layer, layers[1]);
    EXPECT_EQ(find(c, "deb", "gone"), nullptr);
}

TEST_F(SbomTest, WhiteoutsAndOpaqueDirectoriesHideWhatIsBelow) {
    put(0, "var/lib/dpkg/status", stanza("a", "1"));
    put(0, "var/lib/dpkg/status.d/tzdata", stanza("tzdata", "2024a"));
    put(0, "usr/lib/node_modules/left/package.json",
        R"({"name":"left","version":"1.0.0","license":"MIT"})");
    put(0, "usr/lib/node_modules/right/package.json", R"({"name":"right","version":"2.0.0"})");
    put(0, "opt/app/node_modules/old/package.json", R"({"name":"old","version":"0.1.0"})");
    whiteout(1, "var/lib/dpkg/status");
    whiteout(1, "usr/lib/node_modules/right");
    opaque(2, "opt/app");
    put(2, "opt/app/node_modules/@scope/new/package.json",
        R"({"name":"@scope/new","version":"3.0.0","license":{"type":"Apache-2.0"}})");
    put(2, "usr/lib/python3/dist-packages/Requests_Lib-2.31.0.dist-info/METADATA",
        "Metadata-Version: 2.1\nName: Requests_Lib\nVersion: 2.31.0\nLicense: Apache "
        "2.0\n\nbody\n");
    put(2, "lib/apk/db/installed",
        "P:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\no:musl\n\nP:busybox\nV:1.36.1-r5\nA:x86_64\nL:GPL-2."
        "0-only\n\n");
    LayeredTree tree(roots);
    EXPECT_FALSE(tree.find("var/lib/dpkg/status"));
    EXPECT_FALSE(tree.find("opt/app/node_modules/old/package.json"));
    EXPECT_TRUE(tree.find("usr/lib/node_modules/left/package.json"));
    Catalog c = catalog_tree(tree, layers, {});
    EXPECT_EQ(find(c, "deb", "a"), nullptr);
    ASSERT_NE(find(c, "deb", "tzdata"), nullptr);
    EXPECT_EQ(find(c, "deb", "tzdata")->found_in, "/var/lib/dpkg/status.d/tzdata");
    ASSERT_NE(find(c, "npm", "left"), nullptr);
    EXPECT_EQ(find(c, "npm", "left")->licenses, std::vector<std::string>{"MIT"});
    EXPECT_EQ(find(c, "npm", "right"), nullptr);
    EXPECT_EQ(find(c, "npm", "old"), nullptr);
    const Package* scoped = find(c, "npm", "@scope/new");
    ASSERT_NE(scoped, nullptr);
    EXPECT_EQ(scoped->purl, "pkg:npm/%40scope/new@3.0.0");
    EXPECT_EQ(scoped->layer, layers[2]);
    const Package* py = find(c, "pypi", "Requests_Lib");
    ASSERT_NE(py, nullptr);
    EXPECT_EQ(py->purl, "pkg:pypi/requests-lib@2.31.0");
    EXPECT_EQ(py->licenses, std::vector<std::string>{"Apache 2.0"});
    const Package* musl = find(c, "apk", "musl");
    ASSERT_NE(musl, nullptr);
    EXPECT_EQ(musl->purl, "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64");
    EXPECT_EQ(find(c, "apk", "busybox")->licenses, std::vector<std::string>{"GPL-2.0-only"});
}

TEST_F(SbomTest, RpmSqliteAndBerkeleyDb) {
    put(0, "etc/os-release", "ID=\"rhel\"\nVERSION_ID=\"9.3\"\n");
    RpmHeader bash{"bash",
                   "5.1.8",
                   "6.el9",
                   "x86_64",
                   "GPLv3+",
                   "Red Hat, Inc.",
                   "bash-5.1.8-6.el9.src.rpm",
                   std::nullopt};
    RpmHeader openssl{
        "openssl", "3.0.7", "24.el9", "x86_64", "ASL 2.0", "", "openssl-3.0.7-24.el9.src.rpm", 1U};
    RpmHeader back = parse_rpm_header(make_rpm_header(openssl), "t");
    EXPECT_EQ(back.name, "openssl");
    EXPECT_EQ(back.epoch, 1U);
    EXPECT_EQ(back.source_rpm, openssl.source_rpm);
    EXPECT_THROW(parse_rpm_header(std::string("\0\0\0\x09\0\0\0\0", 8), "t"), Error);

    fs::create_directories(roots[0] + "/var/lib/rpm");
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((roots[0] + "/var/lib/rpm/rpmdb.sqlite").c_str(), &db), SQLITE_OK);
    sqlite3_exec(
        db, "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)",
        nullptr, nullptr, nullptr);
    for (const auto& h : {bash, openssl}) {
        std::string blob = make_rpm_header(h);
        sqlite3_stmt* st = nullptr;
        sqlite3_prepare_v2(db, "INSERT INTO Packages (blob) VALUES (?)", -1, &st, nullptr);
        sqlite3_bind_blob(st, 1, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
        ASSERT_EQ(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    Catalog c = catalog_tree(LayeredTree(roots), layers, {});
    ASSERT_EQ(c.packages.size(), 2U);
    EXPECT_EQ(find(c, "rpm", "openssl")->version, "1:3.0.7-24.el9");
    EXPECT_EQ(find(c, "rpm", "openssl")->purl,
              "pkg:rpm/rhel/"
              "openssl@3.0.7-24.el9?arch=x86_64&distro=rhel-9.3&epoch=1&upstream=openssl-3.0.7-24."
              "el9.src.rpm");
    EXPECT_EQ(find(c, "rpm", "bash")->licenses, std::vector<std::string>{"GPLv3+"});

    // The same in a Berkeley DB hash (older rpm), written with libdb as rpm did.
    fs::remove(roots[0] + "/var/lib/rpm/rpmdb.sqlite");
    DB* bdb = nullptr;
    ASSERT_EQ(db_create(&bdb, nullptr, 0), 0);
    ASSERT_EQ(bdb->open(bdb, nullptr, (roots[0] + "/var/lib/rpm/Packages").c_str(), nullptr,
                        DB_HASH, DB_CREATE, 0644),
              0);
    uint32_t number = 1;
    for (const auto& h : {bash, openssl}) {
        std::string blob = make_rpm_header(h);
        DBT key{}, value{};
        key.data = &number;
        key.size = sizeof number;
        value.data = blob.data();
        value.size = static_cast<u_int32_t>(blob.size());
        ASSERT_EQ(bdb->put(bdb, nullptr, &key, &value, 0), 0);
        ++number;
    }
    bdb->close(bdb, 0);
    Catalog from_bdb = catalog_tree(LayeredTree(roots), layers, {});
    ASSERT_EQ(from_bdb.packages.size(), 2U);
    EXPECT_EQ(find(from_bdb, "rpm", "bash")->found_in, "/var/lib/rpm/Packages");

    // rpm's ndb format: a notice, no packages.
    fs::remove(roots[0] + "/var/lib/rpm/Packages");
    put(0, "usr/lib/sysimage/rpm/Packages.db", std::string("RpmP\0\0\0\0", 8));
    Catalog ndb = catalog_tree(LayeredTree(roots), layers, {});
    EXPECT_TRUE(ndb.packages.empty());
    ASSERT_EQ(ndb.notices.size(), 1U);
    EXPECT_NE(ndb.notices[0].find("ndb database format is not read"), std::string::npos);
}

TEST(TrustSbomGo, BuildInfoOfARealGoBinary) {
    // skopeo (a dependency of the tests) is a Go program.
    UniqueFd fd(::open("/usr/bin/skopeo", O_RDONLY | O_CLOEXEC));
    if (!fd) GTEST_SKIP() << "no /usr/bin/skopeo";
    auto info = parse_go_buildinfo(fd.get(), "skopeo");
    ASSERT_TRUE(info);
    EXPECT_TRUE(info->go_version.starts_with("go1.")) << info->go_version;
    UniqueFd not_go(::open("/bin/true", O_RDONLY | O_CLOEXEC));
    EXPECT_FALSE(parse_go_buildinfo(not_go.get(), "true"));
}

TEST(TrustSbomIdentifiers, PurlAndCpe) {
    EXPECT_EQ(make_purl("deb", "debian", "libstdc++6", "1:12.2.0-14", {{"arch", "amd64"}}),
              "pkg:deb/debian/libstdc%2B%2B6@1%3A12.2.0-14?arch=amd64");
    Package go;
    go.type = "golang";
    go.name = "github.com/containers/image/v5";
    go.version = "v5.23.1";
    EXPECT_EQ(make_cpe(go), "cpe:2.3:a:containers:image:5.23.1:*:*:*:*:*:*:*");
    EXPECT_TRUE(is_spdx_expression("MIT"));
    EXPECT_TRUE(is_spdx_expression(
        "(MIT OR Apache-2.0) AND GPL-2.0-or-later WITH Classpath-exception-2.0"));
    EXPECT_FALSE(is_spdx_expression("Apache 2.0"));
    EXPECT_FALSE(is_spdx_expression("MIT OR"));
}

TEST(TrustSbomWriters, RequiredFieldsOfBothFormats) {
    Catalog c;
    c.image.name = "reg.io/app:1";
    c.image.manifest = digest_of("m");
    c.os.id = "debian";
    c.os.version_id = "12";
    Package p;
    p.type = "deb";
    p.name = "bash";
    p.version = "5.2";
    p.architecture = "amd64";
    p.source_name = "bash";
    p.licenses = {"GPL-3.0-or-later", "weird license"};
    p.purl = "pkg:deb/debian/bash@5.2?arch=amd64";
    p.layer = digest_of("l");
    c.packages.push_back(p);
    WriteOptions o;
    o.created = "2026-01-01T00:00:00Z";
    auto spdx = nlohmann::json::parse(to_spdx_json(c, o));
    EXPECT_EQ(spdx["spdxVersion"], "SPDX-2.3");
    EXPECT_EQ(spdx["dataLicense"], "CC0-1.0");
    EXPECT_EQ(spdx["creationInfo"]["created"], "2026-01-01T00:00:00Z");
    ASSERT_EQ(spdx["packages"].size(), 3U);  // image, OS, bash
    EXPECT_EQ(spdx["packages"][2]["licenseDeclared"],
              "(GPL-3.0-or-later) AND LicenseRef-weird-license");
    EXPECT_EQ(spdx["hasExtractedLicensingInfos"][0]["licenseId"], "LicenseRef-weird-license");
    EXPECT_EQ(spdx["packages"][2]["externalRefs"][0]["referenceLocator"], p.purl);
    auto cdx = nlohmann::json::parse(to_cyclonedx_json(c, o));
    EXPECT_EQ(cdx["bomFormat"], "CycloneDX");
    EXPECT_EQ(cdx["specVersion"], "1.5");
    EXPECT_EQ(cdx["metadata"]["component"]["type"], "container");
    ASSERT_EQ(cdx["components"].size(), 2U);
    EXPECT_EQ(cdx["components"][0]["type"], "operating-system");
    EXPECT_EQ(cdx["components"][1]["purl"], p.purl);
    EXPECT_EQ(cdx["components"][1]["properties"][0]["value"], p.layer.str());
}
