// system df: images, containers' writable layers and volumes.
#include <set>

#include "common/tree_size.hpp"
#include "engine/engine.hpp"

namespace berth::engine {

EngineDiskUsage Engine::disk_usage() {
    EngineDiskUsage usage;
    usage.store = image::disk_usage(images_);
    std::set<std::string> images_used;
    for (const auto& record : db_.list()) {
        images_used.insert(record.image_id);
        // The writable layer (upper/ of the overlay; a copy of the image without overlayfs).
        int64_t size = tree_disk_usage(paths_.container_dir(record.id) + "/upper");
        usage.containers.count++;
        usage.containers.size += size;
        if (record.state.status == Status::running || record.state.status == Status::paused)
            usage.containers_running++;
        else
            usage.containers.reclaimable += size;
    }
    for (const auto& image : images_.db().list())
        if (images_used.count(image.id.str())) usage.images_in_use++;
    std::set<std::string> mounted = volumes_in_use();
    for (const auto& volume : volumes_.list()) {
        int64_t size = tree_disk_usage(volumes_.data_path(volume.name));
        usage.volumes.count++;
        usage.volumes.size += size;
        if (mounted.count(volume.name))
            usage.volumes_in_use++;
        else
            usage.volumes.reclaimable += size;
    }
    return usage;
}

}  // namespace berth::engine
