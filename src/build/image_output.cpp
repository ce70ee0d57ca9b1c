#include "build/image_output.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/path.hpp"
#include "common/strings.hpp"
#include "common/time.hpp"
#include "distribution/client/push.hpp"
#include "distribution/client/registry.hpp"
#include "image/archive_sink.hpp"
#include "image/docker_archive.hpp"
#include "image/layer_diff.hpp"
#include "image/oci_layout.hpp"
#include "image/reference.hpp"
#include "oci/image_manifest.hpp"
#include "oci/media_types.hpp"

namespace berth::build {
namespace {

class FdSink : public image::ByteSink {
  public:
    FdSink(int fd, std::string what) : fd_(fd), what_(std::move(what)) {}
    void write(const void* data, size_t size) override {
        write_all(fd_, std::string_view(static_cast<const char*>(data), size), what_);
    }

  private:
    int fd_;
    std::string what_;
};

std::string normalized_name(Session& s, const std::string& tag) {
    image::Reference ref = s.env().settings.resolve(tag);
    if (ref.digest) throw BuildError("-t " + tag + ": a tag cannot name a digest");
    if (ref.tag.empty()) ref.tag = "latest";
    return ref.str();
}

}  // namespace

BuildResult write_outputs(Session& s, const StageResult& target) {
    const BuildOptions& options = s.options();
    image::Images& images = s.env().images;
    bool docker = options.format == "docker";
    if (options.format != "docker" && options.format != "oci")
        throw BuildError("--format " + options.format + ": expected oci or docker");
    int vertex = s.next_step_id();
    s.progress().started(vertex, "exporting to image");
    try {
        oci::ImageConfig config = target.config;
        auto epoch = s.source_date_epoch();
        // As BuildKit: steps without a time of their own (configuration, empty layers) take
        // the first new layer's, or the one before them; the image is as old as its last
        // step. A cached rebuild then writes the same config.
        std::string created;
        bool unset_seen = false;
        for (const auto& h : config.history) {
            if (!h.created.empty()) {
                created = h.created;
                if (unset_seen) break;
            } else {
                unset_seen = true;
            }
        }
        unset_seen = false;
        for (auto& h : config.history) {
            if (!h.created.empty()) {
                if (unset_seen) created = h.created;
            } else {
                unset_seen = true;
                h.created = created;
            }
        }
        std::string last;
        for (const auto& h : config.history)
            if (!h.created.empty()) last = h.created;
        config.created = epoch ? format_rfc3339({static_cast<time_t>(*epoch), 0})
                               : (last.empty() ? rfc3339_now() : last);
        for (const auto& [k, v] : options.labels)
            config.config.labels[k] = v;
        std::string config_bytes = oci::to_json(config).dump();

        oci::Manifest manifest;
        manifest.media_type =
            std::string(docker ? oci::media_type::kDockerManifest : oci::media_type::kOciManifest);
        manifest.config.media_type =
            std::string(docker ? oci::media_type::kDockerConfig : oci::media_type::kOciConfig);
        manifest.config.size = static_cast<int64_t>(config_bytes.size());
        for (const auto& l : target.layers) {
            oci::Descriptor d;
            auto compression =
                oci::layer_compression(l.media_type).value_or(oci::Compression::gzip);
            d.media_type = std::string(oci::layer_media_type(compression, docker));
            d.digest = l.blob;
            d.size = l.size;
            manifest.layers.push_back(std::move(d));
        }
        Digest config_digest;
        Digest manifest_digest;
        std::string manifest_bytes;
        {
            std::lock_guard lock(s.db_mutex());
            config_digest = digest_of(config_bytes);
            if (!images.store().has(config_digest)) images.store().put(config_bytes);
            s.added_blob(config_digest);
            manifest.config.digest = config_digest;
            manifest_bytes = oci::to_json(manifest).dump();
            manifest_digest = digest_of(manifest_bytes);
            if (!images.store().has(manifest_digest)) images.store().put(manifest_bytes);
            s.added_blob(manifest_digest);
        }
        s.progress().output(vertex, "writing image " + config_digest.str() + "\n");

        BuildResult result;
        result.config = config_digest;
        result.manifest = manifest_digest;
        result.manifest_media_type = manifest.media_type;
        result.manifest_size = static_cast<int64_t>(manifest_bytes.size());

        std::vector<TypedSpec> outputs = options.outputs;
        if (outputs.empty()) outputs.push_back({"image", {}});
        std::vector<std::string> names;
        for (const auto& tag : options.tags)
            names.push_back(normalized_name(s, tag));
        for (const auto& out : outputs) {
            if (out.type == "image" || out.type == "registry") {
                std::vector<std::string> these = names;
                for (const auto& n : split(out.attr("name"), ','))
                    if (!n.empty()) these.push_back(normalized_name(s, n));
                {
                    std::lock_guard lock(s.db_mutex());
                    images.commit(manifest_digest, std::nullopt, these);
                }
                result.stored = true;
                for (const auto& n : these) {
                    s.progress().output(vertex, "naming to " + n + "\n");
                    result.names.push_back(n);
                }
                if (out.attr("push") == "true" || out.type == "registry") {
                    if (!s.env().registry)
                        throw BuildError("--output push=true: no registry access");
                    image::Image img = images.read_manifest(manifest_digest);
                    for (const auto& n : these) {
                        image::Reference ref = image::parse_normalized(n);
                        auto registry = s.env().registry(ref.registry);
                        distribution::PushOptions po;
                        distribution::push_image(images, *registry, img, ref, po);
                        s.progress().output(vertex, "pushed " + n + "\n");
                        result.pushed.push_back(n);
                    }
                }
            } else if (out.type == "docker" || out.type == "oci") {
                std::string dest = out.attr("dest");
                if (dest.empty())
                    throw BuildError("--output type=" + out.type + ": needs dest=FILE");
                image::Image img = images.read_manifest(manifest_digest);
                std::vector<image::SaveItem> items = {{img.record, names.empty() ? "" : names[0]}};
                if (out.type == "docker") {
                    image::write_docker_archive(images, items, *image::tar_sink(dest));
                } else if (out.attr("tar", "true") == "false") {
                    image::write_oci_layout(images, items, *image::directory_sink(dest));
                } else {
                    image::write_oci_layout(images, items, *image::tar_sink(dest));
                }
                s.progress().output(vertex, "wrote " + out.type + " image to " + dest + "\n");
            } else if (out.type == "local" || out.type == "tar") {
                std::string dest = out.attr("dest");
                if (dest.empty())
                    throw BuildError("--output type=" + out.type + ": needs dest=PATH");
                const std::string& view = s.mounted_view("output", target.layers);
                UniqueFd view_fd = open_file(view, O_RDONLY | O_DIRECTORY);
                if (out.type == "local") {
                    // As buildx: the directory and its parents are made.
                    std::error_code ec;
                    std::filesystem::create_directories(dest, ec);
                    if (ec)
                        throw BuildError("--output type=local,dest=" + dest + ": " + ec.message());
                    UniqueFd dest_fd = open_file(dest, O_RDONLY | O_DIRECTORY);
                    copy_source({view_fd.get(), false, nullptr}, "", dest_fd.get(), "/", {});
                } else {
                    UniqueFd fd = dest == "-" ? UniqueFd(::dup(STDOUT_FILENO))
                                              : open_file(dest, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                    FdSink sink(fd.get(), dest);
                    image::LayerDiffOptions o;
                    o.clamp_mtime = epoch;
                    image::write_upper_dir_tar(view_fd.get(), sink, o, "the root filesystem");
                }
                s.progress().output(vertex, "wrote the root filesystem to " + dest + "\n");
            } else {
                throw BuildError("--output type=" + out.type +
                                 ": expected image, registry, docker, oci, local or tar");
            }
        }
        s.progress().finished(vertex, "");
        return result;
    } catch (const std::exception& e) {
        s.progress().finished(vertex, e.what());
        throw;
    }
}

}  // namespace berth::build
