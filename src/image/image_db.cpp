#include "image/image_db.hpp"

namespace berth::image {
namespace {

constexpr std::string_view kSchema = R"(
CREATE TABLE IF NOT EXISTS images (
  id TEXT PRIMARY KEY,
  index_digest TEXT,
  config TEXT NOT NULL,
  media_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS names (
  name TEXT PRIMARY KEY,
  image TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS names_image ON names(image);
CREATE TABLE IF NOT EXISTS layers (
  blob TEXT PRIMARY KEY,
  diff_id TEXT NOT NULL,
  size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS blob_sources (
  blob TEXT NOT NULL,
  registry TEXT NOT NULL,
  repository TEXT NOT NULL,
  PRIMARY KEY (blob, registry, repository)
);
CREATE TABLE IF NOT EXISTS leases (
  lease TEXT NOT NULL,
  kind TEXT NOT NULL,
  digest TEXT NOT NULL,
  PRIMARY KEY (lease, kind, digest)
);
)";

constexpr std::string_view kColumns = "id, index_digest, config, media_type, size, created";

}  // namespace

ImageDb::ImageDb(const std::string& path) : db_(path) {
    db_.exec(kSchema);
}

ImageRecord ImageDb::read_row(Statement& st) {
    ImageRecord r;
    r.id = Digest::parse(st.text(0));
    if (auto index = st.text_or_null(1)) r.index_digest = Digest::parse(*index);
    r.config = Digest::parse(st.text(2));
    r.media_type = st.text(3);
    r.size = st.integer(4);
    r.created = st.text(5);
    return r;
}

void ImageDb::load_names(ImageRecord& image) {
    Statement st = db_.prepare("SELECT name FROM names WHERE image = ?1 ORDER BY name");
    st.bind(1, image.id.str());
    image.names.clear();
    while (st.step())
        image.names.push_back(st.text(0));
}

void ImageDb::put(const ImageRecord& image, const std::vector<std::string>& names) {
    Transaction tx(db_);
    Statement st = db_.prepare(
        "INSERT INTO images (id, index_digest, config, media_type, size, created) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO UPDATE SET "
        "index_digest = COALESCE(excluded.index_digest, images.index_digest)");
    st.bind(1, image.id.str());
    if (image.index_digest)
        st.bind(2, image.index_digest->str());
    else
        st.bind_null(2);
    st.bind(3, image.config.str()).bind(4, image.media_type).bind(5, image.size);
    st.bind(6, image.created);
    st.run();
    for (const auto& name : names) {
        Statement n = db_.prepare(
            "INSERT INTO names (name, image) VALUES (?1, ?2) "
            "ON CONFLICT(name) DO UPDATE SET image = excluded.image");
        n.bind(1, name).bind(2, image.id.str());
        n.run();
    }
    tx.commit();
}

std::optional<ImageRecord> ImageDb::get(const Digest& id) {
    Statement st = db_.prepare("SELECT " + std::string(kColumns) + " FROM images WHERE id = ?1");
    st.bind(1, id.str());
    if (!st.step()) return std::nullopt;
    ImageRecord r = read_row(st);
    load_names(r);
    return r;
}

std::optional<ImageRecord> ImageDb::by_name(const std::string& name) {
    Statement st = db_.prepare("SELECT image FROM names WHERE name = ?1");
    st.bind(1, name);
    if (!st.step()) return std::nullopt;
    return get(Digest::parse(st.text(0)));
}

std::vector<ImageRecord> ImageDb::by_prefix(const std::string& hex_prefix) {
    std::vector<ImageRecord> out;
    Statement st = db_.prepare("SELECT " + std::string(kColumns) +
                               " FROM images WHERE substr(id, 8, ?2) = ?1 OR "
                               "substr(config, 8, ?2) = ?1");
    st.bind(1, hex_prefix).bind(2, static_cast<int64_t>(hex_prefix.size()));
    while (st.step())
        out.push_back(read_row(st));
    for (auto& r : out)
        load_names(r);
    return out;
}

std::vector<ImageRecord> ImageDb::list() {
    std::vector<ImageRecord> out;
    Statement st =
        db_.prepare("SELECT " + std::string(kColumns) + " FROM images ORDER BY created DESC, id");
    while (st.step())
        out.push_back(read_row(st));
    for (auto& r : out)
        load_names(r);
    return out;
}

std::vector<ImageRecord> ImageDb::by_index(const Digest& index) {
    std::vector<ImageRecord> out;
    Statement st = db_.prepare("SELECT " + std::string(kColumns) +
                               " FROM images WHERE index_digest = ?1 ORDER BY id");
    st.bind(1, index.str());
    while (st.step())
        out.push_back(read_row(st));
    for (auto& r : out)
        load_names(r);
    return out;
}

void ImageDb::add_name(const std::string& name, const Digest& id) {
    Statement st = db_.prepare(
        "INSERT INTO names (name, image) VALUES (?1, ?2) "
        "ON CONFLICT(name) DO UPDATE SET image = excluded.image");
    st.bind(1, name).bind(2, id.str());
    st.run();
}

bool ImageDb::remove_name(const std::string& name) {
    Statement st = db_.prepare("DELETE FROM names WHERE name = ?1 RETURNING name");
    st.bind(1, name);
    bool removed = st.step();
    st.run();
    return removed;
}

void ImageDb::remove_image(const Digest& id) {
    Statement st = db_.prepare("DELETE FROM images WHERE id = ?1");
    st.bind(1, id.str());
    st.run();
}

void ImageDb::put_layer(const LayerRecord& layer) {
    Statement st = db_.prepare(
        "INSERT INTO layers (blob, diff_id, size) VALUES (?1, ?2, ?3) "
        "ON CONFLICT(blob) DO UPDATE SET diff_id = excluded.diff_id, size = excluded.size");
    st.bind(1, layer.blob.str()).bind(2, layer.diff_id.str()).bind(3, layer.uncompressed_size);
    st.run();
}

std::optional<LayerRecord> ImageDb::layer(const Digest& blob) {
    Statement st = db_.prepare("SELECT diff_id, size FROM layers WHERE blob = ?1");
    st.bind(1, blob.str());
    if (!st.step()) return std::nullopt;
    return LayerRecord{blob, Digest::parse(st.text(0)), st.integer(1)};
}

void ImageDb::forget_layer(const Digest& blob) {
    Statement st = db_.prepare("DELETE FROM layers WHERE blob = ?1");
    st.bind(1, blob.str());
    st.run();
    Statement sources = db_.prepare("DELETE FROM blob_sources WHERE blob = ?1");
    sources.bind(1, blob.str());
    sources.run();
}

void ImageDb::add_blob_source(const Digest& blob, const std::string& registry,
                              const std::string& repository) {
    Statement st = db_.prepare(
        "INSERT OR IGNORE INTO blob_sources (blob, registry, repository) VALUES (?1, ?2, ?3)");
    st.bind(1, blob.str()).bind(2, registry).bind(3, repository);
    st.run();
}

std::vector<std::string> ImageDb::blob_sources(const Digest& blob, const std::string& registry) {
    std::vector<std::string> out;
    Statement st = db_.prepare(
        "SELECT repository FROM blob_sources WHERE blob = ?1 AND registry = ?2 ORDER BY 1");
    st.bind(1, blob.str()).bind(2, registry);
    while (st.step())
        out.push_back(st.text(0));
    return out;
}

void ImageDb::add_lease(const std::string& lease, const std::vector<Digest>& blobs,
                        const std::vector<Digest>& snapshots) {
    Transaction tx(db_);
    for (const auto& [kind, digests] :
         {std::pair{"blob", &blobs}, std::pair{"snapshot", &snapshots}})
        for (const auto& d : *digests) {
            Statement st = db_.prepare(
                "INSERT OR IGNORE INTO leases (lease, kind, digest) VALUES (?1, ?2, ?3)");
            st.bind(1, lease).bind(2, std::string_view(kind)).bind(3, d.str());
            st.run();
        }
    tx.commit();
}

void ImageDb::remove_lease(const std::string& lease) {
    Statement st = db_.prepare("DELETE FROM leases WHERE lease = ?1");
    st.bind(1, lease);
    st.run();
}

LeasedContent ImageDb::leased() {
    LeasedContent out;
    Statement st = db_.prepare("SELECT kind, digest FROM leases");
    while (st.step()) {
        auto digest = Digest::try_parse(st.text(1));
        if (!digest) continue;
        (st.text(0) == "blob" ? out.blobs : out.snapshots).push_back(*digest);
    }
    return out;
}

}  // namespace berth::image
