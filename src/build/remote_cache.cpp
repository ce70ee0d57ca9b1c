#include "build/remote_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <set>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/path.hpp"
#include "distribution/client/registry.hpp"
#include "image/reference.hpp"
#include "oci/image_index.hpp"
#include "oci/image_manifest.hpp"
#include "oci/media_types.hpp"

namespace berth::build {
namespace {

constexpr const char* kArtifactType = "application/vnd.berth.build.cache.v1";
constexpr const char* kConfigType = "application/vnd.berth.build.cache.config.v1+json";

// A blob of the store read from an offset, for uploads.
class StoreBlobSource : public image::ByteSource {
  public:
    StoreBlobSource(UniqueFd fd, std::string what)
        : fd_(std::move(fd)), source_(fd_.get(), std::move(what)) {}
    size_t read(void* buffer, size_t size) override { return source_.read(buffer, size); }

  private:
    UniqueFd fd_;
    image::FdSource source_;
};

struct Artifact {
    std::string manifest;
    std::string config;
    std::vector<oci::Descriptor> layers;
};

// The entries this build used, as an artifact: the config lists them, the layers are their
// blobs (each once).
Artifact make_artifact(Session& s, bool only_target) {
    Artifact a;
    nlohmann::ordered_json entries = nlohmann::ordered_json::array();
    std::map<Digest, size_t> layer_index;
    for (const auto& e : s.used_cache_entries(only_target)) {
        nlohmann::ordered_json j = {
            {"key", e.key.str()}, {"description", e.description}, {"created", e.created}};
        if (e.layer) {
            auto [it, added] = layer_index.emplace(e.layer->blob, a.layers.size());
            if (added) {
                oci::Descriptor d;
                d.media_type = e.layer->media_type;
                d.digest = e.layer->blob;
                d.size = e.layer->size;
                a.layers.push_back(d);
            }
            j["layer"] = it->second;
            j["diffID"] = e.layer->diff_id.str();
        }
        entries.push_back(j);
    }
    a.config = nlohmann::ordered_json{{"entries", entries}}.dump();
    oci::Manifest m;
    m.media_type = std::string(oci::media_type::kOciManifest);
    m.artifact_type = kArtifactType;
    m.config.media_type = kConfigType;
    m.config.digest = digest_of(a.config);
    m.config.size = static_cast<int64_t>(a.config.size());
    m.layers = a.layers;
    a.manifest = oci::to_json(m).dump();
    return a;
}

// The entries an artifact lists; fetch brings a layer's blob into the store.
void add_entries(Session& s, const std::string& manifest_bytes, const std::string& what,
                 const std::function<std::string(const oci::Descriptor&)>& read_small,
                 const std::function<void(const oci::Descriptor&)>& fetch) {
    oci::Manifest m = oci::parse_manifest(manifest_bytes, what);
    if (m.config.media_type != kConfigType) {
        s.progress().notice("[Warning] " + what + " is not a berth build cache (config " +
                            m.config.media_type + "): ignored");
        return;
    }
    nlohmann::json config = nlohmann::json::parse(read_small(m.config), nullptr, false);
    if (!config.is_object() || !config.contains("entries") || !config["entries"].is_array())
        throw BuildError(what + ": its config lists no entries");
    std::vector<RemoteCacheEntry> entries;
    for (const auto& j : config["entries"]) {
        auto key = Digest::try_parse(j.value("key", ""));
        if (!key) continue;
        RemoteCacheEntry e;
        e.entry.key = *key;
        e.entry.description = j.value("description", "");
        e.entry.created = j.value("created", int64_t{0});
        if (j.contains("layer")) {
            size_t i = j.value("layer", size_t{0});
            auto diff = Digest::try_parse(j.value("diffID", ""));
            if (i >= m.layers.size() || !diff) continue;
            const oci::Descriptor& d = m.layers[i];
            e.entry.layer = LayerRef{*diff, d.digest, d.media_type, d.size, {}};
            e.fetch = [fetch, d] { fetch(d); };
        }
        entries.push_back(std::move(e));
    }
    s.add_remote_cache(std::move(entries));
}

std::pair<image::Reference, std::string> cache_reference(Session& s, const TypedSpec& spec,
                                                         const std::string& flag) {
    std::string ref_text = spec.attr("ref");
    if (ref_text.empty()) throw BuildError(flag + " type=registry: needs ref=REGISTRY/REPO[:TAG]");
    image::Reference ref = s.env().settings.resolve(ref_text);
    std::string tag = ref.digest ? ref.digest->str() : (ref.tag.empty() ? "latest" : ref.tag);
    return {ref, tag};
}

}  // namespace

void import_remote_cache(Session& s) {
    for (const auto& spec : s.options().cache_from) {
        if (spec.type == "registry") {
            auto [ref, tag] = cache_reference(s, spec, "--cache-from");
            if (!s.env().registry) throw BuildError("--cache-from: no registry access");
            std::shared_ptr<distribution::Registry> registry = s.env().registry(ref.registry);
            std::string repo = ref.repository;
            std::string what = "cache " + ref.registry + "/" + repo + ":" + tag;
            distribution::FetchedManifest m;
            try {
                m = registry->get_manifest(repo, tag);
            } catch (const distribution::RegistryError& e) {
                if (e.status() == 404) {
                    s.progress().notice("[Warning] " + what + ": not found (nothing imported)");
                    continue;
                }
                throw;
            }
            image::Images& images = s.env().images;
            add_entries(
                s, m.bytes, what,
                [&](const oci::Descriptor& d) { return registry->fetch_small_blob(repo, d); },
                [registry, repo, &images](const oci::Descriptor& d) {
                    if (images.store().has(d.digest)) return;
                    image::BlobWriter w =
                        images.store().writer(d.digest, d.size, "cache layer " + d.digest.str());
                    registry->fetch_blob(repo, d, w);
                    w.commit();
                });
        } else if (spec.type == "local") {
            std::string dir = spec.attr("src");
            if (dir.empty()) throw BuildError("--cache-from type=local: needs src=DIR");
            auto index_text = read_file_if_exists(dir + "/index.json");
            if (!index_text) {
                s.progress().notice("[Warning] cache " + dir +
                                    ": no index.json (nothing imported)");
                continue;
            }
            oci::Index index = oci::parse_index(*index_text, dir + "/index.json");
            if (index.manifests.empty()) continue;
            auto blob_path = [dir](const Digest& d) {
                return dir + "/blobs/" + std::string(d.algorithm_name()) + "/" + d.hex();
            };
            const oci::Descriptor& top = index.manifests.front();
            std::string manifest = read_file(blob_path(top.digest));
            if (digest_of(manifest) != top.digest)
                throw BuildError("cache " + dir + ": manifest digest mismatch");
            image::Images& images = s.env().images;
            add_entries(
                s, manifest, "cache " + dir,
                [&](const oci::Descriptor& d) {
                    std::string bytes = read_file(blob_path(d.digest));
                    if (digest_of(bytes) != d.digest)
                        throw BuildError("cache " + dir + ": blob " + d.digest.str() +
                                         " is corrupt");
                    return bytes;
                },
                [blob_path, &images](const oci::Descriptor& d) {
                    if (images.store().has(d.digest)) return;
                    UniqueFd fd = open_file(blob_path(d.digest), O_RDONLY);
                    image::FdSource source(fd.get(), blob_path(d.digest));
                    images.store().put_stream(source, d.digest, d.size,
                                              "cache layer " + d.digest.str());
                });
        } else {
            throw BuildError("--cache-from type=" + spec.type + ": expected registry or local");
        }
    }
}

void export_remote_cache(Session& s, const StageResult& /*target*/) {
    image::Images& images = s.env().images;
    for (const auto& spec : s.options().cache_to) {
        bool only_target = spec.attr("mode", "max") == "min";
        auto begin = std::chrono::steady_clock::now();
        int vertex = s.next_step_id();
        s.progress().started(
            vertex, "exporting cache to " + spec.type + " " + spec.attr("ref", spec.attr("dest")));
        try {
            Artifact a = make_artifact(s, only_target);
            if (spec.type == "registry") {
                auto [ref, tag] = cache_reference(s, spec, "--cache-to");
                if (!s.env().registry) throw BuildError("--cache-to: no registry access");
                auto registry = s.env().registry(ref.registry);
                int sent = 0;
                for (const auto& layer : a.layers) {
                    if (registry->blob_size(ref.repository, layer.digest)) continue;
                    registry->upload_blob(
                        ref.repository, layer.digest, layer.size,
                        [&images, layer](int64_t offset) -> std::unique_ptr<image::ByteSource> {
                            UniqueFd fd = images.store().open(layer.digest);
                            if (::lseek(fd.get(), offset, SEEK_SET) < 0)
                                throw_errno("seek", layer.digest.str());
                            return std::make_unique<StoreBlobSource>(std::move(fd),
                                                                     layer.digest.str());
                        },
                        0);
                    ++sent;
                }
                Digest config_digest = digest_of(a.config);
                if (!registry->blob_size(ref.repository, config_digest)) {
                    std::string bytes = a.config;
                    registry->upload_blob(
                        ref.repository, config_digest, static_cast<int64_t>(bytes.size()),
                        [bytes](int64_t offset) -> std::unique_ptr<image::ByteSource> {
                            struct Owned : image::ByteSource {
                                std::string data;
                                image::MemorySource source{""};
                                explicit Owned(std::string d) : data(std::move(d)), source(data) {}
                                size_t read(void* b, size_t n) override {
                                    return source.read(b, n);
                                }
                            };
                            return std::make_unique<Owned>(
                                bytes.substr(static_cast<size_t>(offset)));
                        },
                        0);
                }
                registry->put_manifest(ref.repository, tag, a.manifest,
                                       std::string(oci::media_type::kOciManifest));
                auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - begin);
                s.progress().output(
                    vertex, std::to_string(sent) + " of " + std::to_string(a.layers.size()) +
                                " layers sent in " + std::to_string(ms.count()) + " ms\n");
            } else if (spec.type == "local") {
                std::string dir = spec.attr("dest");
                if (dir.empty()) throw BuildError("--cache-to type=local: needs dest=DIR");
                std::string blobs = dir + "/blobs/sha256";
                for (const auto& d : {dir, dir + "/blobs", blobs})
                    if (::mkdir(d.c_str(), 0755) < 0 && errno != EEXIST) throw_errno("mkdir", d);
                auto put = [&](const Digest& digest,
                               const std::function<void(const std::string&)>& write) {
                    std::string path = blobs + "/" + digest.hex();
                    if (::access(path.c_str(), F_OK) == 0) return;
                    write(path + ".tmp");
                    if (::rename((path + ".tmp").c_str(), path.c_str()) < 0)
                        throw_errno("rename", path);
                };
                for (const auto& layer : a.layers)
                    put(layer.digest, [&](const std::string& tmp) {
                        if (::link(images.store().path(layer.digest).c_str(), tmp.c_str()) == 0)
                            return;
                        UniqueFd in = images.store().open(layer.digest);
                        write_file(tmp, read_fd(in.get(), layer.digest.str()));
                    });
                put(digest_of(a.config),
                    [&](const std::string& tmp) { write_file(tmp, a.config); });
                Digest manifest_digest = digest_of(a.manifest);
                put(manifest_digest, [&](const std::string& tmp) { write_file(tmp, a.manifest); });
                nlohmann::ordered_json index = {
                    {"schemaVersion", 2},
                    {"mediaType", std::string(oci::media_type::kOciIndex)},
                    {"manifests",
                     {{{"mediaType", std::string(oci::media_type::kOciManifest)},
                       {"digest", manifest_digest.str()},
                       {"size", a.manifest.size()},
                       {"artifactType", kArtifactType},
                       {"annotations",
                        {{"org.opencontainers.image.ref.name", spec.attr("tag", "latest")}}}}}}};
                write_file_atomic(dir + "/index.json", index.dump());
                write_file_atomic(dir + "/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
            } else {
                throw BuildError("--cache-to type=" + spec.type + ": expected registry or local");
            }
            s.progress().finished(vertex, "");
        } catch (const std::exception& e) {
            s.progress().finished(vertex, e.what());
            throw;
        }
    }
}

}  // namespace berth::build
