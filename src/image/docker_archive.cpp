#include "image/docker_archive.hpp"

#include <set>

#include "image/decompress.hpp"
#include "image/layer_apply.hpp"

namespace berth::image {
namespace {

// The uncompressed size of a layer: recorded when it was unpacked, else counted.
int64_t uncompressed_size(Images& images, const oci::Descriptor& layer) {
    if (auto known = images.db().layer(layer.digest)) return known->uncompressed_size;
    UniqueFd fd = images.store().open(layer.digest);
    FdSource raw(fd.get(), images.store().path(layer.digest));
    auto tar = decompressing_source(raw, "layer " + layer.digest.str());
    std::vector<char> buffer(256 * 1024);
    int64_t total = 0;
    while (size_t n = tar->read(buffer.data(), buffer.size()))
        total += static_cast<int64_t>(n);
    return total;
}

}  // namespace

void write_docker_archive(Images& images, const std::vector<SaveItem>& items, ArchiveSink& sink) {
    nlohmann::ordered_json manifest = nlohmann::ordered_json::array();
    std::set<std::string> written;
    for (const auto& item : items) {
        Image image = images.load(item.record);
        std::string config_name = image.manifest.config.digest.hex() + ".json";
        if (written.insert(config_name).second) sink.add_bytes(config_name, image.config_bytes);
        nlohmann::ordered_json layers = nlohmann::ordered_json::array();
        for (size_t i = 0; i < image.manifest.layers.size(); ++i) {
            const oci::Descriptor& layer = image.manifest.layers[i];
            const Digest& diff_id = image.config.diff_ids[i];
            std::string name = diff_id.hex() + ".tar";
            layers.push_back(name);
            if (!written.insert(name).second) continue;
            std::string what = "layer " + layer.digest.str();
            int64_t size = uncompressed_size(images, layer);
            UniqueFd fd = images.store().open(layer.digest);
            FdSource raw(fd.get(), images.store().path(layer.digest));
            auto tar = decompressing_source(raw, what);
            HashingSource hashed(*tar, diff_id.algorithm());
            sink.add_file(name, size, hashed);
            if (hashed.finish() != diff_id)
                throw LayerError(what + ": does not match its diff ID " + diff_id.str());
        }
        nlohmann::ordered_json entry;
        entry["Config"] = config_name;
        entry["RepoTags"] = nlohmann::ordered_json::array();
        if (!item.name.empty()) {
            Reference ref = parse_reference(item.name).reference;
            if (!ref.tag.empty()) entry["RepoTags"].push_back(ref.name() + ":" + ref.tag);
        }
        entry["Layers"] = layers;
        manifest.push_back(entry);
    }
    sink.add_bytes("manifest.json", manifest.dump());
    sink.finish();
}

}  // namespace berth::image
