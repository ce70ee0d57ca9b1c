// How berth prints images: the `images` table and JSON, `inspect` documents, `system df`.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "build/build.hpp"
#include "engine/engine.hpp"
#include "image/gc.hpp"
#include "image/images.hpp"

namespace berth::cli {

// One row per name (an unnamed image gets one row of <none>), newest first.
std::string images_table(image::Images& images, const std::vector<image::ImageRecord>& records,
                         bool quiet);
nlohmann::ordered_json images_json(image::Images& images,
                                   const std::vector<image::ImageRecord>& records);
nlohmann::ordered_json inspect_json(image::Images& images, const image::ImageRecord& record);
std::string disk_usage_table(const engine::EngineDiskUsage& usage,
                             const build::BuildCacheUsage& cache);
nlohmann::ordered_json disk_usage_json(const engine::EngineDiskUsage& usage,
                                       const build::BuildCacheUsage& cache);

// "3 hours ago" from an RFC 3339 time; "" when it does not parse.
std::string time_ago(const std::string& rfc3339);

}  // namespace berth::cli
