#include "oci/media_types.hpp"

namespace berth::oci {

bool is_manifest_media_type(std::string_view type) {
    return type == media_type::kOciManifest || type == media_type::kDockerManifest;
}

bool is_index_media_type(std::string_view type) {
    return type == media_type::kOciIndex || type == media_type::kDockerManifestList;
}

bool is_config_media_type(std::string_view type) {
    return type == media_type::kOciConfig || type == media_type::kDockerConfig;
}

bool is_docker_media_type(std::string_view type) {
    return type.starts_with("application/vnd.docker.");
}

std::optional<Compression> layer_compression(std::string_view type) {
    using namespace media_type;
    if (type == kOciLayer || type == kOciNondistributableLayer || type == kDockerLayer)
        return Compression::none;
    if (type == kOciLayerGzip || type == kOciNondistributableLayerGzip ||
        type == kDockerLayerGzip || type == kDockerForeignLayerGzip)
        return Compression::gzip;
    if (type == kOciLayerZstd || type == kOciNondistributableLayerZstd || type == kDockerLayerZstd)
        return Compression::zstd;
    return std::nullopt;
}

std::string_view layer_media_type(Compression compression, bool docker) {
    switch (compression) {
        case Compression::none:
            return docker ? media_type::kDockerLayer : media_type::kOciLayer;
        case Compression::gzip:
            return docker ? media_type::kDockerLayerGzip : media_type::kOciLayerGzip;
        case Compression::zstd:
            return docker ? media_type::kDockerLayerZstd : media_type::kOciLayerZstd;
    }
    return media_type::kOciLayer;
}

}  // namespace berth::oci
