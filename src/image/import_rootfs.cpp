#include "image/import_rootfs.hpp"

#include "common/time.hpp"
#include "image/decompress.hpp"
#include "image/gc.hpp"
#include "oci/media_types.hpp"

namespace berth::image {
namespace {

// Everything read through it is also written to the blob.
class TeeSource : public ByteSource {
  public:
    TeeSource(ByteSource& inner, BlobWriter& writer) : inner_(inner), writer_(writer) {}
    size_t read(void* buffer, size_t size) override {
        size_t n = inner_.read(buffer, size);
        if (n == 0 && !seen_magic_) empty_ = true;
        if (n > 0 && !seen_magic_) {
            compression_ = detect_compression(buffer, n);
            seen_magic_ = true;
        }
        writer_.write(buffer, n);
        return n;
    }
    [[nodiscard]] oci::Compression compression() const { return compression_; }
    [[nodiscard]] bool empty() const { return empty_; }

  private:
    ByteSource& inner_;
    BlobWriter& writer_;
    oci::Compression compression_ = oci::Compression::none;
    bool seen_magic_ = false;
    bool empty_ = false;
};

}  // namespace

ImageRecord import_rootfs(Images& images, int fd, const std::string& what,
                          const ImportOptions& options) {
    FileLock writing = images.writer_lock();
    std::vector<Digest> added;
    try {
        FdSource input(fd, what);
        BlobWriter writer = images.store().writer(std::nullopt, std::nullopt, what);
        TeeSource tee(input, writer);
        auto tar = decompressing_source(tee, what);
        HashingSource hashed(*tar);
        hashed.drain();
        std::vector<char> rest(64 * 1024);
        while (tee.read(rest.data(), rest.size()) > 0) {
        }
        if (tee.empty()) throw Error(what + ": empty input, not a tarball");
        int64_t blob_size = writer.written();
        Digest blob = writer.commit();
        added.push_back(blob);
        Digest diff_id = hashed.finish();

        oci::ImageConfig config;
        config.created = rfc3339_now();
        config.architecture = options.platform.architecture;
        config.os = options.platform.os;
        config.variant = options.platform.variant;
        config.config.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
        config.config.cmd = options.cmd;
        config.diff_ids = {diff_id};
        config.history.push_back({config.created, "berth import", "", options.message, false});
        std::string config_bytes = to_json(config).dump();
        Digest config_digest = images.store().put(config_bytes);
        added.push_back(config_digest);

        oci::Manifest manifest;
        manifest.media_type = oci::media_type::kOciManifest;
        manifest.config = {std::string(oci::media_type::kOciConfig),
                           config_digest,
                           static_cast<int64_t>(config_bytes.size()),
                           {},
                           {},
                           std::nullopt,
                           {}};
        manifest.layers.push_back({std::string(oci::layer_media_type(tee.compression(), false)),
                                   blob,
                                   blob_size,
                                   {},
                                   {},
                                   std::nullopt,
                                   {}});
        Digest manifest_digest = images.store().put(to_json(manifest).dump());
        added.push_back(manifest_digest);
        std::vector<std::string> names;
        if (!options.name.empty()) names.push_back(parse_normalized(options.name).str());
        return images.commit(manifest_digest, std::nullopt, names);
    } catch (...) {
        discard_unreferenced_blobs(images, added);
        throw;
    }
}

}  // namespace berth::image
