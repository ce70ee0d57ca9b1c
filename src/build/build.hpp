// `berth build` as a library: a Containerfile and a context in, an image (or files) out.
// The CLI (cli/build_commands.cpp) and the Docker API's /build call build(); provenance and
// SBOM attestations hook in at BuildResult. docs/build.md describes the design and the cache.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "build/progress.hpp"
#include "common/digest.hpp"
#include "distribution/client/pull.hpp"
#include "image/images.hpp"
#include "image/settings.hpp"

namespace berth::engine {
class Engine;
}
namespace berth::distribution {
class Registry;
class HttpClient;
}  // namespace berth::distribution

namespace berth::build {

// A build error the user caused (syntax, a missing file, a failing RUN): one line, exit 1.
class BuildError : public Error {
  public:
    using Error::Error;
};

// A RUN that exited with a non-zero code; its last output lines are kept for the message.
class RunFailed : public BuildError {
  public:
    RunFailed(const std::string& message, int exit_code, std::string last_output)
        : BuildError(message), exit_code_(exit_code), last_output_(std::move(last_output)) {}
    [[nodiscard]] int exit_code() const { return exit_code_; }
    [[nodiscard]] const std::string& last_output() const { return last_output_; }

  private:
    int exit_code_;
    std::string last_output_;
};

// "type=registry,ref=R", "type=local,dest=DIR", "type=oci,dest=F": a type and attributes.
struct TypedSpec {
    std::string type;
    std::map<std::string, std::string> attrs;
    [[nodiscard]] std::string attr(const std::string& key, const std::string& fallback = {}) const;
};
// Parses "k=v,k=v" (a bare word is the type; "dest" alone is type=local,dest=...).
TypedSpec parse_typed_spec(const std::string& text, const std::string& flag);

// --secret id=ID,src=FILE | id=ID,env=VAR (type=file|env).
struct SecretSource {
    std::string id;
    std::string file;  // read when a RUN mounts it
    std::string env;   // or the value of this variable of the caller
};
SecretSource parse_secret_flag(const std::string& text);

struct BuildOptions {
    // The context: a directory, a tarball (fd, e.g. stdin), a URL of a tarball, or none
    // (only the Containerfile is given: COPY has nothing to copy).
    std::string context_dir;
    int context_tar_fd = -1;
    std::string context_url;
    // -f: a path (default: Containerfile, else Dockerfile in the context), or the text.
    std::string containerfile;
    std::optional<std::string> containerfile_text;

    std::vector<std::string> tags;
    std::vector<std::pair<std::string, std::string>> build_args;
    std::string target;
    bool no_cache = false;
    std::vector<std::string> no_cache_filter;  // stages built without the cache
    std::string pull = "missing";              // always, missing, never
    std::vector<SecretSource> secrets;
    std::vector<std::pair<std::string, std::string>> labels;
    std::string platform;             // must be this machine's
    std::vector<TypedSpec> outputs;   // none: type=image into the store
    std::string network = "default";  // RUN's default network: default, none, host
    std::vector<TypedSpec> cache_from, cache_to;
    std::string format = "oci";                // oci or docker (manifest and config media types)
    std::string compression = "gzip";          // gzip or zstd, for the layers a build makes
    std::optional<int64_t> source_date_epoch;  // also from --build-arg SOURCE_DATE_EPOCH
    std::string ssh;                           // --ssh default (an agent socket)
};

struct BuildResult {
    bool stored = false;  // recorded in the image store (output type=image)
    Digest config;        // the image id docker shows (its config's digest)
    Digest manifest;
    std::string manifest_media_type;
    int64_t manifest_size = 0;
    std::vector<std::string> names;
    std::vector<std::string> pushed;  // references pushed (type=image,push=true)
    int steps = 0, cached_steps = 0;
};

struct BuildEnvironment {
    engine::Engine& engine;
    image::Images& images;
    const image::Settings& settings;
    // A registry client for a registry host (credentials, TLS): base image pulls, the
    // registry cache, pushes. May be empty (no registry access).
    std::function<std::unique_ptr<distribution::Registry>(const std::string& registry)> registry;
    distribution::HttpClient* http = nullptr;  // ADD https://..., URL contexts
    // How a base image (FROM) is pulled; empty: distribution::pull_image. The CLI passes the
    // signature policy's pull (trust::pull_with_policy): an image it rejects is not stored.
    std::function<distribution::PullResult(image::Images&, distribution::Registry&,
                                           const image::Reference&,
                                           const distribution::PullOptions&)>
        pull;
};

// Builds; throws BuildError (the user's) or Error. cancel: once true, running containers
// are stopped and the build ends with an Error("build canceled"). On any failure nothing the
// build made stays (images, cache entries, snapshots, blobs, mounts, containers), except the
// cache entries of the steps before a failing RUN, as docker keeps them.
BuildResult build(const BuildEnvironment& env, const BuildOptions& options, Progress& progress,
                  const std::atomic<bool>* cancel = nullptr);

// `builder prune`: removes the build cache (entries not used for keep_seconds, or all when
// 0) and the cache mounts, then collects garbage; returns the bytes freed.
int64_t prune_build_cache(image::Images& images, int64_t keep_seconds = 0);

struct BuildCacheUsage {
    int64_t entries = 0;
    int64_t size = 0;         // layer blobs the cache alone keeps, and cache mounts
    int64_t reclaimable = 0;  // all of it (prune removes every entry)
};
BuildCacheUsage build_cache_usage(image::Images& images);

}  // namespace berth::build
