#include "image/state_db.hpp"

namespace berth::image {
namespace {

[[noreturn]] void fail(sqlite3* db, const std::string& what) {
    throw Error("state database: " + what + ": " + sqlite3_errmsg(db));
}

}  // namespace

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) !=
        SQLITE_OK)
        fail(db, "prepare \"" + std::string(sql.substr(0, 40)) + "\"");
}

Statement::~Statement() {
    sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int index, std::string_view value) {
    if (sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                          SQLITE_TRANSIENT) != SQLITE_OK)
        fail(db_, "bind");
    return *this;
}

Statement& Statement::bind(int index, int64_t value) {
    if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) fail(db_, "bind");
    return *this;
}

Statement& Statement::bind_null(int index) {
    if (sqlite3_bind_null(stmt_, index) != SQLITE_OK) fail(db_, "bind");
    return *this;
}

bool Statement::step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(db_, "step");
}

void Statement::run() {
    while (step()) {
    }
}

std::string Statement::text(int column) const {
    const unsigned char* t = sqlite3_column_text(stmt_, column);
    return t ? std::string(reinterpret_cast<const char*>(t),
                           static_cast<size_t>(sqlite3_column_bytes(stmt_, column)))
             : std::string();
}

std::optional<std::string> Statement::text_or_null(int column) const {
    if (sqlite3_column_type(stmt_, column) == SQLITE_NULL) return std::nullopt;
    return text(column);
}

int64_t Statement::integer(int column) const {
    return sqlite3_column_int64(stmt_, column);
}

Database::Database(const std::string& path) : path_(path) {
    int rc = sqlite3_open_v2(
        path.c_str(), &db_,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_EXRESCODE,
        nullptr);
    if (rc != SQLITE_OK) {
        std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
        sqlite3_close(db_);
        db_ = nullptr;
        throw Error("state database " + path + ": " + message);
    }
    sqlite3_busy_timeout(db_, 30000);
    // Every berth process and every container monitor opens the database briefly. Closing
    // the last connection would checkpoint and delete the WAL (three fsyncs, every time):
    // leave that to the automatic checkpoint when the WAL grows.
    sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    int persist = 1;
    sqlite3_file_control(db_, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    try {
        // Switching to WAL takes an exclusive lock and does not wait for it: retry while
        // another process opens the database at the same moment.
        for (int attempt = 0;; ++attempt) {
            int wal = sqlite3_exec(db_, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
            if (wal == SQLITE_OK) break;
            if ((wal & 0xff) != SQLITE_BUSY || attempt >= 300) exec("PRAGMA journal_mode=WAL");
            sqlite3_sleep(10);
        }
        exec("PRAGMA synchronous=NORMAL");
        // The first connection of a process rebuilds the WAL index by reading every frame
        // since the WAL last restarted: with the default 1000-page checkpoints that was up to
        // 4 MB read and checksummed by every berth command. 128 pages keep it under 512 KiB
        // for two fsyncs every few dozen transactions.
        exec("PRAGMA wal_autocheckpoint=128");
        exec("PRAGMA foreign_keys=ON");
    } catch (...) {
        sqlite3_close_v2(db_);
        db_ = nullptr;
        throw;
    }
}

Database::~Database() {
    sqlite3_close_v2(db_);
}

void Database::exec(std::string_view sql) {
    char* error = nullptr;
    std::string text(sql);
    int rc;
    // The busy handler is not called in every case (a read lock that must become a write
    // lock): retry those for a while too.
    for (int attempt = 0;; ++attempt) {
        rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
        if ((rc & 0xff) != SQLITE_BUSY || attempt >= 300) break;
        sqlite3_free(error);
        error = nullptr;
        sqlite3_sleep(10);
    }
    if (rc != SQLITE_OK) {
        std::string message = error ? error : sqlite3_errmsg(db_);
        sqlite3_free(error);
        throw Error("state database " + path_ + ": " + message);
    }
}

Transaction::Transaction(Database& db) : db_(db) {
    db_.exec("BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
    if (!done_) {
        try {
            db_.exec("ROLLBACK");
        } catch (...) {  // NOLINT(bugprone-empty-catch): nothing to do in a destructor
        }
    }
}

void Transaction::commit() {
    db_.exec("COMMIT");
    done_ = true;
}

}  // namespace berth::image
