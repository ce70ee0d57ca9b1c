// docker-archive (`docker save` / `docker load`): manifest.json listing each image's config
// and uncompressed layer tars, as docker and skopeo (docker-archive:FILE) write and read.
#pragma once

#include <vector>

#include "image/archive_sink.hpp"
#include "image/oci_layout.hpp"

namespace berth::image {

// Layers are written uncompressed (<diff-id hex>.tar), their diff IDs checked on the way;
// the config as <hex>.json; RepoTags from the items' names.
void write_docker_archive(Images& images, const std::vector<SaveItem>& items, ArchiveSink& sink);

}  // namespace berth::image
