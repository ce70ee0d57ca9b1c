// build(), the library's entry point, and the small parsers of the command's flags.
#include "build/build.hpp"

#include <ctime>

#include "build/cache.hpp"
#include "build/session.hpp"
#include "common/error.hpp"
#include "common/remove_tree.hpp"
#include "common/strings.hpp"
#include "common/tree_size.hpp"
#include "image/gc.hpp"

namespace berth::build {

std::string TypedSpec::attr(const std::string& key, const std::string& fallback) const {
    auto it = attrs.find(key);
    return it == attrs.end() ? fallback : it->second;
}

TypedSpec parse_typed_spec(const std::string& text, const std::string& flag) {
    TypedSpec spec;
    for (const auto& field : split(text, ',')) {
        if (field.empty()) continue;
        size_t eq = field.find('=');
        if (eq == std::string::npos) {
            if (spec.type.empty() && spec.attrs.empty()) {
                spec.type = field;
                continue;
            }
            throw BuildError(flag + " " + text + ": \"" + field + "\" is not KEY=VALUE");
        }
        std::string key = field.substr(0, eq), value = field.substr(eq + 1);
        if (key == "type")
            spec.type = value;
        else
            spec.attrs[key] = value;
    }
    if (spec.type.empty()) {
        // docker's -o DIR: the files, into DIR.
        if (spec.attrs.empty() && !text.empty() && text.find('=') == std::string::npos) {
            spec.type = "local";
            spec.attrs["dest"] = text;
        } else if (spec.attrs.count("dest")) {
            spec.type = "local";
        } else {
            throw BuildError(flag + " " + text + ": no type=");
        }
    }
    return spec;
}

SecretSource parse_secret_flag(const std::string& text) {
    SecretSource s;
    std::string type;
    for (const auto& field : split(text, ',')) {
        size_t eq = field.find('=');
        std::string key = field.substr(0, eq);
        std::string value = eq == std::string::npos ? "" : field.substr(eq + 1);
        if (key == "id")
            s.id = value;
        else if (key == "src" || key == "source")
            s.file = value;
        else if (key == "env")
            s.env = value;
        else if (key == "type")
            type = value;
        else
            throw BuildError("--secret " + text + ": unknown field \"" + key + "\"");
    }
    if (s.id.empty()) throw BuildError("--secret " + text + ": id= is required");
    if (type == "env" && s.env.empty() && s.file.empty()) s.env = s.id;
    if (type == "env" && !s.file.empty()) std::swap(s.env, s.file);
    if (s.file.empty() && s.env.empty()) {
        // docker: without src or env, a variable named like the id, else a file.
        s.env = s.id;
    }
    return s;
}

BuildResult build(const BuildEnvironment& env, const BuildOptions& options, Progress& progress,
                  const std::atomic<bool>* cancel) {
    Session session(env, options, progress, cancel);
    return session.run();
}

int64_t prune_build_cache(image::Images& images, int64_t keep_seconds) {
    BuildCache cache(images);
    int64_t now = static_cast<int64_t>(std::time(nullptr));
    int64_t freed = 0;
    for (const auto& e : cache.list())
        if (keep_seconds == 0 || now - e.last_used > keep_seconds) cache.remove(e.key);
    if (keep_seconds == 0) {
        std::string mounts = images.root() + "/build/cache-mounts";
        freed += tree_disk_usage(mounts);
        remove_tree(mounts);
    }
    image::GcResult gc = image::collect_garbage(images);
    return freed + gc.bytes_freed;
}

BuildCacheUsage build_cache_usage(image::Images& images) {
    BuildCacheUsage u;
    BuildCache cache(images);
    std::set<Digest> blobs;
    for (const auto& e : cache.list()) {
        ++u.entries;
        if (e.layer) blobs.insert(e.layer->blob);
    }
    // Blobs some image also holds are the image's, not the cache's.
    std::set<Digest> image_blobs;
    for (const auto& record : images.db().list()) {
        try {
            for (const auto& l : images.load(record).manifest.layers)
                image_blobs.insert(l.digest);
        } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): counted as the cache's
        }
    }
    for (const auto& b : blobs)
        if (!image_blobs.count(b)) u.size += images.store().size(b).value_or(0);
    u.size += tree_disk_usage(images.root() + "/build/cache-mounts");
    u.reclaimable = u.size;
    return u;
}

}  // namespace berth::build
