// An image's SBOM content: its OS and the packages of every database its final filesystem
// holds, read from the image's snapshots (unpacked from the stored layers when missing).
#pragma once

#include "image/images.hpp"
#include "trust/sbom/layered_tree.hpp"
#include "trust/sbom/package.hpp"

namespace berth::trust::sbom {

Catalog catalog_image(image::Images& images, const image::Image& image);

// The same over any layered tree (tests); layers: the blob digest of each tree layer.
Catalog catalog_tree(const LayeredTree& tree, const std::vector<Digest>& layers,
                     ImageSubject subject);

}  // namespace berth::trust::sbom
