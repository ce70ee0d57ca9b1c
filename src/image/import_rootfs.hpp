// `import`: a root filesystem tarball (plain, gzip or zstd) as a one-layer image. The tarball
// is stored as its layer blob as it is read, while its diff ID is computed from the
// decompressed stream; then a config and an OCI manifest are written for it.
#pragma once

#include <string>

#include "image/images.hpp"
#include "oci/descriptor.hpp"

namespace berth::image {

struct ImportOptions {
    std::string name;        // full reference, or empty for an unnamed image
    oci::Platform platform;  // os/architecture recorded in the config
    std::vector<std::string> cmd;
    std::string message;  // history comment
};

ImageRecord import_rootfs(Images& images, int fd, const std::string& what,
                          const ImportOptions& options);

}  // namespace berth::image
