// Named volumes: <root>/volumes/<name>/_data, recorded in the state database. A volume is
// a directory that outlives the containers using it; an anonymous one (an image VOLUME or
// `-v /path`) gets a random name and goes with its container on `rm -v` and `--rm`.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/paths.hpp"
#include "image/state_db.hpp"

namespace berth::engine {

struct VolumeRecord {
    std::string name;
    std::string created;
    bool anonymous = false;
    nlohmann::json labels = nlohmann::json::object();
};

class Volumes {
  public:
    Volumes(const EnginePaths& paths, image::Database& db);

    // Creates the volume, or returns the existing one of that name.
    VolumeRecord create(const std::string& name,
                        const nlohmann::json& labels = nlohmann::json::object(),
                        bool anonymous = false);
    std::optional<VolumeRecord> get(const std::string& name);
    std::vector<VolumeRecord> list();
    // Removes the record and the data (the caller checked that no container uses it).
    void remove(const std::string& name);
    [[nodiscard]] std::string data_path(const std::string& name) const {
        return paths_.volume_dir(name) + "/_data";
    }
    // An empty volume is filled from the image at its mount point the first time it is used.
    bool is_empty(const std::string& name) const;
    nlohmann::json inspect(const VolumeRecord& record) const;

  private:
    const EnginePaths& paths_;
    image::Database& db_;
};

// Copies the tree at source (a directory inside a container's rootfs) into the empty
// directory target, keeping owners, modes and times (cp -a).
void copy_tree(const std::string& source, const std::string& target);

}  // namespace berth::engine
