// The OCI image layout (oci-layout, index.json, blobs/<alg>/<hex>): save images into one (a
// directory, or a tar: "oci-archive"), and import the images a layout directory holds.
// Written so that skopeo (oci:DIR:TAG) and umoci (--image DIR:TAG) read it: each manifest's
// org.opencontainers.image.ref.name is its tag, io.containerd.image.name its full name.
#pragma once

#include <string>
#include <vector>

#include "image/archive_sink.hpp"
#include "image/images.hpp"
#include "oci/descriptor.hpp"

namespace berth::image {

struct SaveItem {
    ImageRecord record;
    std::string name;  // the full reference to record with it; empty: none
};

void write_oci_layout(Images& images, const std::vector<SaveItem>& items, ArchiveSink& sink);

struct LoadOptions {
    std::string name_hint;   // the repository for a layout whose ref.name is only a tag
    oci::Platform platform;  // chosen from indexes
    UnpackProgress progress;
};

// Imports every image index.json lists (an index: the manifest for options.platform).
std::vector<ImageRecord> load_oci_layout_dir(Images& images, const std::string& dir,
                                             const LoadOptions& options);

// Shared with the archive loader: registers the images of an index.json whose blobs are in
// the store already (fetch is called for each blob first, to bring it there).
std::vector<ImageRecord> register_layout_index(
    Images& images, const std::string& index_json, const LoadOptions& options,
    const std::function<void(const oci::Descriptor&)>& fetch,
    const std::vector<std::pair<Digest, std::vector<std::string>>>& extra_names = {});

// A name from a layout's annotations (io.containerd.image.name, else ref.name: a full
// reference, or a tag for localhost/<hint>); empty when there is none.
std::string layout_image_name(const oci::Descriptor& manifest, const std::string& hint);

}  // namespace berth::image
