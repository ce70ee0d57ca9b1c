#include "build/cache.hpp"

#include <ctime>

#include "image/state_db.hpp"

namespace berth::build {
namespace {

constexpr std::string_view kCacheSchema = R"(
CREATE TABLE IF NOT EXISTS build_cache (
  key TEXT PRIMARY KEY,
  description TEXT NOT NULL,
  diff_id TEXT,
  blob TEXT,
  media_type TEXT,
  blob_size INTEGER,
  chain TEXT,
  created INTEGER NOT NULL,
  last_used INTEGER NOT NULL
);
)";

CacheEntry read_entry(image::Statement& st) {
    CacheEntry e;
    e.key = Digest::parse(st.text(0));
    e.description = st.text(1);
    if (auto diff = st.text_or_null(2)) {
        LayerRef l;
        l.diff_id = Digest::parse(*diff);
        l.blob = Digest::parse(st.text(3));
        l.media_type = st.text(4);
        l.size = st.integer(5);
        l.chain = Digest::parse(st.text(6));
        e.layer = l;
    }
    e.created = st.integer(7);
    e.last_used = st.integer(8);
    return e;
}

constexpr std::string_view kEntryColumns =
    "key, description, diff_id, blob, media_type, blob_size, chain, created, last_used";

}  // namespace

KeyBuilder::KeyBuilder(std::string_view kind) {
    add("berth-build-cache-v1");
    add(kind);
}

KeyBuilder& KeyBuilder::add(std::string_view field) {
    std::string length = std::to_string(field.size()) + ":";
    hasher_.update(length);
    hasher_.update(field);
    return *this;
}

Digest KeyBuilder::finish() {
    return hasher_.finish();
}

BuildCache::BuildCache(image::Images& images) : images_(images) {
    images_.db().database().exec(kCacheSchema);
}

std::optional<CacheEntry> BuildCache::lookup(const Digest& key) {
    std::lock_guard lock(mutex_);
    image::Statement st = images_.db().database().prepare("SELECT " + std::string(kEntryColumns) +
                                                          " FROM build_cache WHERE key = ?1");
    st.bind(1, key.str());
    if (!st.step()) return std::nullopt;
    return read_entry(st);
}

void BuildCache::record(const CacheEntry& entry) {
    std::lock_guard lock(mutex_);
    image::Database& db = images_.db().database();
    {
        image::Transaction tx(db);
        image::Statement st =
            db.prepare("INSERT OR REPLACE INTO build_cache (" + std::string(kEntryColumns) +
                       ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
        st.bind(1, entry.key.str()).bind(2, entry.description);
        if (entry.layer) {
            st.bind(3, entry.layer->diff_id.str()).bind(4, entry.layer->blob.str());
            st.bind(5, entry.layer->media_type).bind(6, entry.layer->size);
            st.bind(7, entry.layer->chain.str());
        } else {
            st.bind_null(3).bind_null(4).bind_null(5).bind_null(6).bind_null(7);
        }
        int64_t now = static_cast<int64_t>(std::time(nullptr));
        st.bind(8, entry.created ? entry.created : now).bind(9, now);
        st.run();
        tx.commit();
    }
    if (entry.layer)
        images_.db().add_lease(lease_name(entry.key), {entry.layer->blob}, {entry.layer->chain});
}

void BuildCache::remove(const Digest& key) {
    std::lock_guard lock(mutex_);
    image::Statement st = images_.db().database().prepare("DELETE FROM build_cache WHERE key = ?1");
    st.bind(1, key.str());
    st.run();
    images_.db().remove_lease(lease_name(key));
}

void BuildCache::touch(const Digest& key) {
    std::lock_guard lock(mutex_);
    image::Statement st =
        images_.db().database().prepare("UPDATE build_cache SET last_used = ?2 WHERE key = ?1");
    st.bind(1, key.str()).bind(2, static_cast<int64_t>(std::time(nullptr)));
    st.run();
}

std::vector<CacheEntry> BuildCache::list() {
    std::lock_guard lock(mutex_);
    std::vector<CacheEntry> out;
    image::Statement st = images_.db().database().prepare("SELECT " + std::string(kEntryColumns) +
                                                          " FROM build_cache ORDER BY created");
    while (st.step())
        out.push_back(read_entry(st));
    return out;
}

}  // namespace berth::build
