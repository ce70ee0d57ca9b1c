// rpm: the package headers in /var/lib/rpm (or /usr/lib/sysimage/rpm): rpmdb.sqlite (SQLite,
// rpm >= 4.16), Packages (Berkeley DB hash, older rpm; read with Debian's libdb, no rpm tools
// needed). Packages.db (rpm's own "ndb" format, openSUSE) is not read: a notice says so.
#include <db.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <map>
#include <memory>

#include "common/error.hpp"
#include "common/file.hpp"
#include "trust/sbom/identifiers.hpp"
#include "trust/sbom/readers.hpp"
#include "trust/sbom/rpm_header.hpp"

namespace berth::trust::sbom {
namespace {

struct SqliteClose {
    void operator()(sqlite3* db) const noexcept { sqlite3_close(db); }
};

std::vector<std::string> sqlite_blobs(const std::string& path) {
    sqlite3* raw = nullptr;
    // immutable: the snapshot is never written, and nothing (WAL, locks) is created beside it.
    std::string uri = "file:" + path + "?immutable=1";
    int rc = sqlite3_open_v2(uri.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
    std::unique_ptr<sqlite3, SqliteClose> db(raw);
    if (rc != SQLITE_OK)
        throw Error(path + ": cannot open the rpm database: " + sqlite3_errstr(rc));
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db.get(), "SELECT blob FROM Packages", -1, &st, nullptr) != SQLITE_OK)
        throw Error(path + ": not an rpm database: " + sqlite3_errmsg(db.get()));
    std::vector<std::string> out;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const void* data = sqlite3_column_blob(st, 0);
        int size = sqlite3_column_bytes(st, 0);
        if (data && size > 0)
            out.emplace_back(static_cast<const char*>(data), static_cast<size_t>(size));
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        throw Error(path + ": reading the rpm database: " + sqlite3_errmsg(db.get()));
    return out;
}

std::vector<std::string> bdb_blobs(const std::string& path) {
    DB* db = nullptr;
    if (int rc = db_create(&db, nullptr, 0); rc != 0)
        throw Error(path + ": Berkeley DB: " + db_strerror(rc));
    auto close_db = [](DB* d) { d->close(d, 0); };
    std::unique_ptr<DB, decltype(close_db)> guard(db, close_db);
    if (int rc = db->open(db, nullptr, path.c_str(), nullptr, DB_UNKNOWN, DB_RDONLY, 0); rc != 0)
        throw Error(path + ": not a Berkeley DB rpm database: " + db_strerror(rc));
    DBC* cursor = nullptr;
    if (int rc = db->cursor(db, nullptr, &cursor, 0); rc != 0)
        throw Error(path + ": Berkeley DB cursor: " + db_strerror(rc));
    std::vector<std::string> out;
    DBT key{};
    DBT value{};
    int rc = 0;
    while ((rc = cursor->get(cursor, &key, &value, DB_NEXT)) == 0) {
        // Key 0 holds rpm's next instance number, not a header.
        if (key.size == 4 && *static_cast<const uint32_t*>(key.data) == 0) continue;
        if (value.size >= 8) out.emplace_back(static_cast<const char*>(value.data), value.size);
    }
    cursor->close(cursor);
    if (rc != DB_NOTFOUND) throw Error(path + ": reading the rpm database: " + db_strerror(rc));
    return out;
}

std::vector<Package> packages_of(const std::vector<std::string>& blobs, const OsRelease& os,
                                 const std::string& found_in) {
    std::vector<Package> out;
    for (const auto& blob : blobs) {
        RpmHeader h = parse_rpm_header(blob, found_in);
        if (h.name.empty() || h.name == "gpg-pubkey") continue;  // imported keys, not packages
        Package p;
        p.type = "rpm";
        p.name = h.name;
        p.version = (h.epoch ? std::to_string(*h.epoch) + ":" : "") + h.version + "-" + h.release;
        p.architecture = h.arch;
        if (!h.license.empty()) p.licenses.push_back(h.license);
        p.supplier = h.vendor;
        p.source_name = h.source_rpm;
        p.found_in = found_in;
        std::map<std::string, std::string> q{{"arch", h.arch}};
        if (h.epoch) q["epoch"] = std::to_string(*h.epoch);
        if (!os.id.empty())
            q["distro"] = os.id + (os.version_id.empty() ? "" : "-" + os.version_id);
        if (!h.source_rpm.empty()) q["upstream"] = h.source_rpm;
        p.purl = make_purl("rpm", os.id, h.name, h.version + "-" + h.release, q);
        out.push_back(std::move(p));
    }
    return out;
}

}  // namespace

void read_rpm(const ReaderContext& ctx) {
    struct Candidate {
        const char* path;
        enum { sqlite, bdb, ndb } kind;
    };
    const Candidate candidates[] = {{"usr/lib/sysimage/rpm/rpmdb.sqlite", Candidate::sqlite},
                                    {"var/lib/rpm/rpmdb.sqlite", Candidate::sqlite},
                                    {"usr/lib/sysimage/rpm/Packages.db", Candidate::ndb},
                                    {"var/lib/rpm/Packages.db", Candidate::ndb},
                                    {"usr/lib/sysimage/rpm/Packages", Candidate::bdb},
                                    {"var/lib/rpm/Packages", Candidate::bdb}};
    for (const auto& c : candidates) {
        auto visible = ctx.tree.resolve(c.path);
        if (!visible || !S_ISREG(visible->st.st_mode)) continue;
        std::string found_in = "/" + std::string(c.path);
        std::string head;
        {
            UniqueFd fd =
                open_file(ctx.tree.layer_root(visible->layer) + "/" + visible->path, O_RDONLY);
            char magic[16] = {};
            ssize_t n = ::read(fd.get(), magic, sizeof magic);
            if (n > 0) head.assign(magic, static_cast<size_t>(n));
        }
        bool is_sqlite = head.starts_with(std::string("SQLite format 3\0", 16));
        if (c.kind == Candidate::ndb && !is_sqlite) {
            ctx.catalog.notices.push_back(found_in +
                                          ": rpm's ndb database format is not read; its "
                                          "packages are not listed");
            return;
        }
        try {
            read_layered_database(ctx, visible->path, [&](size_t layer) {
                std::string path = ctx.tree.layer_root(layer) + "/" + visible->path;
                return packages_of(is_sqlite ? sqlite_blobs(path) : bdb_blobs(path), ctx.os,
                                   found_in);
            });
        } catch (const Error& e) {
            ctx.catalog.notices.push_back(std::string(e.what()) + "; its packages are not listed");
        }
        return;
    }
}

}  // namespace berth::trust::sbom
