// `load`: images from a tar stream (a file or stdin), in either format: an OCI layout
// archive (oci-archive) or a docker-archive (`docker save`, skopeo docker-archive:), plain or
// compressed. One pass: blobs go into the store as they stream by (verified against their
// names where those are digests), the small JSON documents are kept, and the images are
// recorded at the end. On failure the blobs it added are removed again.
#pragma once

#include <string>
#include <vector>

#include "image/oci_layout.hpp"

namespace berth::image {

std::vector<ImageRecord> load_archive(Images& images, int fd, const std::string& what,
                                      const LoadOptions& options);

}  // namespace berth::image
