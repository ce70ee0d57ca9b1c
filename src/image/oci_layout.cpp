#include "image/oci_layout.hpp"

#include <fcntl.h>

#include <algorithm>
#include <set>

#include "common/file.hpp"
#include "common/json_reader.hpp"
#include "image/gc.hpp"
#include "image/platform.hpp"
#include "oci/image_index.hpp"
#include "oci/media_types.hpp"

namespace berth::image {
namespace {

constexpr const char* kRefName = "org.opencontainers.image.ref.name";
constexpr const char* kContainerdName = "io.containerd.image.name";

std::string blob_path(const Digest& d) {
    return "blobs/" + std::string(d.algorithm_name()) + "/" + d.hex();
}

// A repository name from free text: lowercase, [a-z0-9._-], for "localhost/<hint>".
std::string sanitize_hint(const std::string& hint) {
    std::string out;
    for (char c : hint) {
        char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9'))
            out += l;
        else if (!out.empty() && out.back() != '-')
            out += '-';
    }
    while (!out.empty() && out.back() == '-')
        out.pop_back();
    return out.empty() ? "image" : out;
}

}  // namespace

std::string layout_image_name(const oci::Descriptor& manifest, const std::string& hint) {
    if (auto it = manifest.annotations.find(kContainerdName); it != manifest.annotations.end()) {
        try {
            return parse_normalized(it->second).str();
        } catch (const InvalidReference&) {  // NOLINT(bugprone-empty-catch): try ref.name
        }
    }
    auto it = manifest.annotations.find(kRefName);
    if (it == manifest.annotations.end() || it->second.empty()) return {};
    const std::string& ref = it->second;
    if (ref.find('/') != std::string::npos) return parse_normalized(ref).str();
    std::string tag = ref.find(':') == std::string::npos ? ref : ref.substr(ref.rfind(':') + 1);
    return parse_normalized("localhost/" + sanitize_hint(hint) + ":" + tag).str();
}

void write_oci_layout(Images& images, const std::vector<SaveItem>& items, ArchiveSink& sink) {
    sink.add_bytes("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
    sink.add_directory("blobs");
    sink.add_directory("blobs/sha256");
    std::set<Digest> written;
    std::set<std::string> directories{"sha256"};
    oci::Index index;
    index.media_type = oci::media_type::kOciIndex;
    auto add_blob = [&](const Digest& d) {
        if (!written.insert(d).second) return;
        if (directories.insert(std::string(d.algorithm_name())).second)
            sink.add_directory("blobs/" + std::string(d.algorithm_name()));
        UniqueFd fd = images.store().open(d);
        FdSource source(fd.get(), images.store().path(d));
        sink.add_file(blob_path(d), images.store().size(d).value_or(0), source);
    };
    for (const auto& item : items) {
        Image image = images.load(item.record);
        add_blob(image.manifest.config.digest);
        for (const auto& layer : image.manifest.layers)
            add_blob(layer.digest);
        add_blob(image.record.id);
        oci::Descriptor d;
        d.media_type = image.record.media_type;
        d.digest = image.record.id;
        d.size = static_cast<int64_t>(image.manifest_bytes.size());
        d.platform = oci::Platform{image.config.architecture,
                                   image.config.os,
                                   image.config.os_version,
                                   {},
                                   image.config.variant};
        if (!item.name.empty()) {
            Reference ref = parse_reference(item.name).reference;
            d.annotations[kContainerdName] = ref.str();
            if (!ref.tag.empty()) d.annotations[kRefName] = ref.tag;
        }
        index.manifests.push_back(d);
    }
    sink.add_bytes("index.json", to_json(index).dump());
    sink.finish();
}

std::vector<ImageRecord> register_layout_index(
    Images& images, const std::string& index_json, const LoadOptions& options,
    const std::function<void(const oci::Descriptor&)>& fetch,
    const std::vector<std::pair<Digest, std::vector<std::string>>>& extra_names) {
    oci::Index index = oci::parse_index(index_json, "index.json");
    std::vector<ImageRecord> out;
    // Several entries may be one image (tags of the same manifest): names gather per image.
    std::vector<std::pair<Digest, std::optional<Digest>>> order;
    std::map<Digest, std::vector<std::string>> names;
    for (const auto& entry : index.manifests) {
        Digest manifest = entry.digest;
        std::optional<Digest> from_index;
        fetch(entry);
        if (oci::is_index_media_type(entry.media_type)) {
            std::string what = "index " + entry.digest.str();
            oci::Index nested = oci::parse_index(images.store().read(entry.digest), what);
            auto chosen = select_manifest(nested.manifests, options.platform);
            if (!chosen)
                throw Error(what + ": no manifest for platform " + to_string(options.platform));
            fetch(nested.manifests[*chosen]);
            manifest = nested.manifests[*chosen].digest;
            from_index = entry.digest;
        } else if (!oci::is_manifest_media_type(entry.media_type)) {
            throw Error("index.json: manifest " + entry.digest.str() + ": unsupported media type " +
                        entry.media_type);
        }
        std::string what = "manifest " + manifest.str();
        oci::Manifest m = oci::parse_manifest(images.store().read(manifest), what);
        fetch(m.config);
        for (const auto& layer : m.layers) {
            check_layer_media_type(layer);
            fetch(layer);
        }
        if (std::none_of(order.begin(), order.end(),
                         [&](const auto& o) { return o.first == manifest; }))
            order.emplace_back(manifest, from_index);
        auto& list = names[manifest];
        if (std::string name = layout_image_name(entry, options.name_hint); !name.empty())
            list.push_back(name);
    }
    for (const auto& [digest, extra] : extra_names)
        for (const auto& n : extra)
            names[digest].push_back(n);
    out.reserve(order.size());
    for (const auto& [manifest, from_index] : order)
        out.push_back(images.commit(manifest, from_index, names[manifest], options.progress));
    return out;
}

std::vector<ImageRecord> load_oci_layout_dir(Images& images, const std::string& dir,
                                             const LoadOptions& options) {
    auto layout = read_file_if_exists(dir + "/oci-layout");
    if (!layout) throw Error(dir + ": not an OCI image layout (no oci-layout file)");
    nlohmann::json doc = parse_json(*layout, dir + "/oci-layout");
    JsonReader reader(doc, dir + "/oci-layout");
    std::string version = reader.at("imageLayoutVersion").as_string();
    if (version != "1.0.0")
        throw Error(dir + "/oci-layout: unsupported imageLayoutVersion " + version);
    FileLock writing = images.writer_lock();
    std::vector<Digest> added;
    auto fetch = [&](const oci::Descriptor& d) {
        if (images.store().has(d.digest)) return;
        std::string path = dir + "/" + blob_path(d.digest);
        UniqueFd fd = open_file(path, O_RDONLY);
        FdSource source(fd.get(), path);
        images.store().put_stream(source, d.digest, d.size, "blob " + d.digest.str());
        added.push_back(d.digest);
    };
    try {
        return register_layout_index(images, read_file(dir + "/index.json"), options, fetch);
    } catch (...) {
        discard_unreferenced_blobs(images, added);
        throw;
    }
}

}  // namespace berth::image
