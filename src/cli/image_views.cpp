#include "cli/image_views.hpp"

#include <ctime>

#include "cli/progress_printer.hpp"
#include "cli/text_table.hpp"
#include "image/reference.hpp"

namespace berth::cli {
namespace {

struct NameParts {
    std::string repository;
    std::string tag;
};

NameParts split_name(const std::string& name) {
    try {
        image::Reference r = image::parse_reference(name).reference;
        return {r.name(), r.tag.empty() ? "<none>" : r.tag};
    } catch (const std::exception&) {
        return {name, "<none>"};
    }
}

}  // namespace

std::string time_ago(const std::string& rfc3339) {
    std::tm tm{};
    if (!strptime(rfc3339.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return "";
    time_t then = timegm(&tm);
    auto seconds = static_cast<int64_t>(std::difftime(std::time(nullptr), then));
    if (seconds < 0) seconds = 0;
    auto unit = [](int64_t n, const char* name) {
        return std::to_string(n) + " " + name + (n == 1 ? "" : "s") + " ago";
    };
    if (seconds < 60) return unit(seconds, "second");
    if (seconds < 3600) return unit(seconds / 60, "minute");
    if (seconds < 86400) return unit(seconds / 3600, "hour");
    if (seconds < 86400 * 14) return unit(seconds / 86400, "day");
    if (seconds < 86400 * 60) return unit(seconds / (86400 * 7), "week");
    if (seconds < 86400 * 365 * 2) return unit(seconds / (86400 * 30), "month");
    return unit(seconds / (86400 * 365), "year");
}

std::string images_table(image::Images& images, const std::vector<image::ImageRecord>& records,
                         bool quiet) {
    std::vector<std::vector<std::string>> rows;
    if (!quiet) rows.push_back({"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"});
    for (const auto& r : records) {
        if (quiet) {
            rows.push_back({r.config.short_hex()});
            continue;
        }
        std::string created;
        try {
            created = time_ago(images.load(r).config.created);
        } catch (const std::exception&) {
            created = "(broken)";
        }
        std::vector<std::string> names = r.names;
        if (names.empty()) names.emplace_back("<none>");
        for (const auto& name : names) {
            NameParts parts = name == "<none>" ? NameParts{"<none>", "<none>"} : split_name(name);
            rows.push_back(
                {parts.repository, parts.tag, r.config.short_hex(), created, human_size(r.size)});
        }
    }
    return aligned_columns(rows);
}

nlohmann::ordered_json images_json(image::Images& images,
                                   const std::vector<image::ImageRecord>& records) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& r : records) {
        nlohmann::ordered_json j;
        j["Id"] = r.config.str();
        j["Digest"] = r.id.str();
        j["Names"] = r.names;
        j["Size"] = r.size;
        try {
            j["Created"] = images.load(r).config.created;
        } catch (const std::exception&) {
            j["Created"] = nullptr;
        }
        j["Pulled"] = r.created;
        out.push_back(j);
    }
    return out;
}

nlohmann::ordered_json inspect_json(image::Images& images, const image::ImageRecord& record) {
    image::Image image = images.load(record);
    nlohmann::ordered_json j;
    j["Id"] = record.config.str();
    j["Digest"] = record.id.str();
    nlohmann::ordered_json tags = nlohmann::ordered_json::array();
    nlohmann::ordered_json digests = nlohmann::ordered_json::array();
    for (const auto& name : record.names) {
        NameParts parts = split_name(name);
        if (parts.tag != "<none>") tags.push_back(name);
        std::string digest = record.index_digest ? record.index_digest->str() : record.id.str();
        std::string repo_digest = parts.repository + "@" + digest;
        if (std::find(digests.begin(), digests.end(), repo_digest) == digests.end())
            digests.push_back(repo_digest);
    }
    j["RepoTags"] = tags;
    j["RepoDigests"] = digests;
    if (record.index_digest) j["IndexDigest"] = record.index_digest->str();
    j["MediaType"] = record.media_type;
    j["Created"] = image.config.created;
    j["Author"] = image.config.author;
    j["Architecture"] = image.config.architecture;
    j["Os"] = image.config.os;
    if (!image.config.variant.empty()) j["Variant"] = image.config.variant;
    j["Size"] = record.size;
    nlohmann::ordered_json doc = nlohmann::ordered_json::parse(image.config_bytes);
    j["Config"] = doc.contains("config") ? doc["config"] : nlohmann::ordered_json::object();
    j["RootFS"] = {{"Type", "layers"}, {"Layers", nlohmann::ordered_json::array()}};
    for (const auto& id : image.config.diff_ids)
        j["RootFS"]["Layers"].push_back(id.str());
    j["Layers"] = nlohmann::ordered_json::array();
    for (const auto& layer : image.manifest.layers)
        j["Layers"].push_back({{"MediaType", layer.media_type},
                               {"Digest", layer.digest.str()},
                               {"Size", layer.size}});
    j["History"] = doc.contains("history") ? doc["history"] : nlohmann::ordered_json::array();
    j["Pulled"] = record.created;
    return j;
}

std::string disk_usage_table(const engine::EngineDiskUsage& u,
                             const build::BuildCacheUsage& cache) {
    auto reclaim = [](const image::UsageLine& l) {
        int pct = l.size > 0 ? static_cast<int>(100 * l.reclaimable / l.size) : 0;
        return human_size(l.reclaimable) + " (" + std::to_string(pct) + "%)";
    };
    const image::DiskUsage& s = u.store;
    return aligned_columns(
        {{"TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"},
         {"Images", std::to_string(s.images.count), std::to_string(u.images_in_use),
          human_size(s.images.size), "-"},
         {"Containers", std::to_string(u.containers.count), std::to_string(u.containers_running),
          human_size(u.containers.size), reclaim(u.containers)},
         {"Local Volumes", std::to_string(u.volumes.count), std::to_string(u.volumes_in_use),
          human_size(u.volumes.size), reclaim(u.volumes)},
         {"Blobs", std::to_string(s.blobs.count), "-", human_size(s.blobs.size), reclaim(s.blobs)},
         {"Snapshots", std::to_string(s.snapshots.count), "-", human_size(s.snapshots.size),
          reclaim(s.snapshots)},
         {"Build Cache", std::to_string(cache.entries), "0", human_size(cache.size),
          reclaim({cache.entries, cache.size, cache.reclaimable})}});
}

nlohmann::ordered_json disk_usage_json(const engine::EngineDiskUsage& u,
                                       const build::BuildCacheUsage& cache) {
    auto line = [](const image::UsageLine& l) {
        return nlohmann::ordered_json{
            {"Count", l.count}, {"Size", l.size}, {"Reclaimable", l.reclaimable}};
    };
    nlohmann::ordered_json images = line(u.store.images);
    images["Active"] = u.images_in_use;
    images["Dangling"] = u.store.dangling_images;
    nlohmann::ordered_json containers = line(u.containers);
    containers["Active"] = u.containers_running;
    nlohmann::ordered_json volumes = line(u.volumes);
    volumes["Active"] = u.volumes_in_use;
    return {{"Images", images},
            {"Containers", containers},
            {"Volumes", volumes},
            {"Blobs", line(u.store.blobs)},
            {"Snapshots", line(u.store.snapshots)},
            {"BuildCache", line({cache.entries, cache.size, cache.reclaimable})}};
}

}  // namespace berth::cli
