#include "image/archive_load.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <map>
#include <memory>

#include "common/json_reader.hpp"
#include "common/path.hpp"
#include "image/decompress.hpp"
#include "image/gc.hpp"
#include "oci/image_index.hpp"
#include "oci/media_types.hpp"

namespace berth::image {
namespace {

constexpr int64_t kMaxDocument = 16 * 1024 * 1024;

struct ReadArchiveDeleter {
    void operator()(archive* a) const { archive_read_free(a); }
};

// The current entry's data.
class EntrySource : public ByteSource {
  public:
    EntrySource(archive* a, std::string what) : archive_(a), what_(std::move(what)) {}
    size_t read(void* buffer, size_t size) override {
        la_ssize_t n = archive_read_data(archive_, buffer, size);
        if (n < 0) throw Error(what_ + ": " + archive_error_string(archive_));
        return static_cast<size_t>(n);
    }

  private:
    archive* archive_;
    std::string what_;
};

struct Contents {
    std::map<std::string, std::string> documents;  // small JSON files by path
    std::map<std::string, Digest> files;           // other regular files, stored as blobs
    std::map<std::string, std::string> links;      // symlink path -> cleaned target path
    std::vector<Digest> added;                     // blobs this load put in the store
};

std::string entry_name(const char* raw) {
    std::string name = clean_path(raw ? raw : "");
    while (name.starts_with("/"))
        name.erase(0, 1);
    return name;
}

std::optional<Digest> digest_from_blob_path(const std::string& name) {
    // blobs/<algorithm>/<hex>
    if (!name.starts_with("blobs/")) return std::nullopt;
    std::string rest = name.substr(6);
    size_t slash = rest.find('/');
    if (slash == std::string::npos) return std::nullopt;
    return Digest::try_parse(rest.substr(0, slash) + ":" + rest.substr(slash + 1));
}

std::string resolve_links(const Contents& c, std::string name) {
    for (int i = 0; i < 16; ++i) {
        auto it = c.links.find(name);
        if (it == c.links.end()) return name;
        name = it->second;
    }
    throw Error("archive: symlink loop at " + name);
}

void read_entries(Images& images, int fd, const std::string& what, Contents& c) {
    std::unique_ptr<archive, ReadArchiveDeleter> a(archive_read_new());
    // What `docker save` output may be compressed with (not filter_all: it drags in more).
    archive_read_support_filter_gzip(a.get());
    archive_read_support_filter_bzip2(a.get());
    archive_read_support_filter_xz(a.get());
    archive_read_support_filter_zstd(a.get());
    archive_read_support_format_tar(a.get());
    if (archive_read_open_fd(a.get(), fd, 256 * 1024) != ARCHIVE_OK)
        throw Error(what + ": not a tar archive: " + archive_error_string(a.get()));
    archive_entry* e = nullptr;
    for (;;) {
        int r = archive_read_next_header(a.get(), &e);
        if (r == ARCHIVE_EOF) break;
        if (r == ARCHIVE_RETRY) continue;
        if (r == ARCHIVE_FATAL) throw Error(what + ": " + archive_error_string(a.get()));
        std::string name = entry_name(archive_entry_pathname(e));
        mode_t type = archive_entry_filetype(e);
        if (type == AE_IFLNK) {
            const char* target = archive_entry_symlink(e);
            std::string t = target ? target : "";
            c.links[name] = entry_name(
                (is_absolute_path(t) ? t : join_path(parent_path("/" + name), t)).c_str());
            continue;
        }
        if (type != AE_IFREG) continue;
        int64_t size = archive_entry_size(e);
        std::string entry_what = std::string(what).append(": ").append(name);
        EntrySource source(a.get(), entry_what);
        if (auto digest = digest_from_blob_path(name)) {
            if (images.store().has(*digest)) continue;
            images.store().put_stream(source, *digest, size,
                                      "blob " + digest->str() + " (" + name + ")");
            c.added.push_back(*digest);
            continue;
        }
        bool document = name.ends_with(".json") || name == "oci-layout" || name == "repositories";
        if (document && size <= kMaxDocument) {
            std::string bytes(static_cast<size_t>(size), '\0');
            bytes.resize(read_full(source, bytes.data(), bytes.size()));
            c.documents[name] = std::move(bytes);
            continue;
        }
        Digest digest = images.store().put_stream(source, std::nullopt, size, entry_what);
        c.files[name] = digest;
        c.added.push_back(digest);
    }
}

// The compression of a stored blob, from its first bytes.
oci::Compression blob_compression(Images& images, const Digest& blob) {
    UniqueFd fd = images.store().open(blob);
    char magic[4] = {};
    FdSource source(fd.get(), images.store().path(blob));
    size_t n = read_full(source, magic, sizeof magic);
    return detect_compression(magic, n);
}

std::vector<ImageRecord> load_docker(Images& images, Contents& c, const std::string& what,
                                     const LoadOptions& options) {
    std::string manifest_what = what + ": manifest.json";
    nlohmann::json doc = parse_json(c.documents.at("manifest.json"), manifest_what);
    JsonReader root(doc, "manifest.json");
    std::vector<ImageRecord> out;
    for (const auto& item : root.as_array()) {
        std::string config_path =
            resolve_links(c, entry_name(item.at("Config").as_string().c_str()));
        std::string config_bytes;
        if (auto it = c.documents.find(config_path); it != c.documents.end()) {
            config_bytes = it->second;
        } else if (auto d = digest_from_blob_path(config_path); d && images.store().has(*d)) {
            config_bytes = images.store().read(*d);
        } else {
            item.at("Config").fail("\"" + config_path + "\" is not in the archive");
        }
        Digest config_digest = images.store().put(config_bytes);
        if (auto named = Digest::try_parse("sha256:" + base_name(config_path).substr(0, 64));
            named && base_name(config_path) == named->hex() + ".json" && *named != config_digest)
            item.at("Config").fail("\"" + config_path + "\" does not match its name (" +
                                   config_digest.str() + ")");
        c.added.push_back(config_digest);
        oci::ImageConfig config = oci::parse_image_config(
            config_bytes, std::string(what).append(": ").append(config_path));
        auto layers = item.at("Layers").as_array();
        if (layers.size() != config.diff_ids.size())
            item.at("Layers").fail(std::to_string(layers.size()) +
                                   " layers, but the config lists " +
                                   std::to_string(config.diff_ids.size()) + " diff IDs");
        oci::Manifest manifest;
        manifest.media_type = oci::media_type::kDockerManifest;
        manifest.config = {std::string(oci::media_type::kDockerConfig),
                           config_digest,
                           static_cast<int64_t>(config_bytes.size()),
                           {},
                           {},
                           std::nullopt,
                           {}};
        for (size_t i = 0; i < layers.size(); ++i) {
            std::string path = resolve_links(c, entry_name(layers[i].as_string().c_str()));
            std::optional<Digest> blob;
            if (auto it = c.files.find(path); it != c.files.end()) blob = it->second;
            if (!blob) blob = digest_from_blob_path(path);
            if (!blob || !images.store().has(*blob))
                layers[i].fail("\"" + path + "\" is not in the archive");
            oci::Compression compression = blob_compression(images, *blob);
            if (compression == oci::Compression::none && *blob != config.diff_ids[i])
                layers[i].fail("\"" + path + "\" hashes to " + blob->str() +
                               ", the config's diff ID is " + config.diff_ids[i].str());
            manifest.layers.push_back({std::string(oci::layer_media_type(compression, true)),
                                       *blob,
                                       images.store().size(*blob).value_or(0),
                                       {},
                                       {},
                                       std::nullopt,
                                       {}});
        }
        Digest manifest_digest = images.store().put(to_json(manifest).dump());
        c.added.push_back(manifest_digest);
        std::vector<std::string> names;
        if (auto tags = item.find("RepoTags"))
            for (const auto& tag : tags->as_string_array())
                names.push_back(parse_normalized(tag).str());
        out.push_back(images.commit(manifest_digest, std::nullopt, names, options.progress));
    }
    return out;
}

// docker 25+ writes both: names from manifest.json's RepoTags, matched by config digest.
std::vector<std::pair<Digest, std::vector<std::string>>> repo_tags_for_layout(Images& images,
                                                                              Contents& c) {
    std::vector<std::pair<Digest, std::vector<std::string>>> out;
    auto manifest_json = c.documents.find("manifest.json");
    if (manifest_json == c.documents.end()) return out;
    nlohmann::json doc = nlohmann::json::parse(manifest_json->second, nullptr, false);
    if (!doc.is_array()) return out;
    oci::Index index = oci::parse_index(c.documents.at("index.json"), "index.json");
    for (const auto& item : doc) {
        if (!item.is_object() || !item.contains("Config") || !item["Config"].is_string()) continue;
        auto config = digest_from_blob_path(entry_name(item["Config"].get<std::string>().c_str()));
        if (!config) continue;
        std::vector<std::string> tags;
        if (item.contains("RepoTags") && item["RepoTags"].is_array())
            for (const auto& t : item["RepoTags"])
                if (t.is_string()) tags.push_back(parse_normalized(t.get<std::string>()).str());
        for (const auto& m : index.manifests) {
            if (!oci::is_manifest_media_type(m.media_type) || !images.store().has(m.digest))
                continue;
            auto parsed = oci::parse_manifest(images.store().read(m.digest), m.digest.str());
            if (parsed.config.digest == *config) out.emplace_back(m.digest, tags);
        }
    }
    return out;
}

}  // namespace

std::vector<ImageRecord> load_archive(Images& images, int fd, const std::string& what,
                                      const LoadOptions& options) {
    FileLock writing = images.writer_lock();
    Contents c;
    try {
        read_entries(images, fd, what, c);
        if (c.documents.contains("index.json")) {
            auto fetch = [&](const oci::Descriptor& d) {
                if (!images.store().has(d.digest))
                    throw Error(what + ": blob " + d.digest.str() + " is not in the archive");
            };
            return register_layout_index(images, c.documents.at("index.json"), options, fetch,
                                         repo_tags_for_layout(images, c));
        }
        if (c.documents.contains("manifest.json")) return load_docker(images, c, what, options);
        throw Error(what +
                    ": neither an OCI layout (index.json) nor a docker archive "
                    "(manifest.json)");
    } catch (...) {
        discard_unreferenced_blobs(images, c.added);
        throw;
    }
}

}  // namespace berth::image
