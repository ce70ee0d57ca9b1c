// Argument parsing and printing for `berth build` and `berth builder`; the work is in
// src/build.
#include "cli/build_commands.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>

#include "build/build.hpp"
#include "cli/build_progress.hpp"
#include "cli/progress_printer.hpp"
#include "common/error.hpp"
#include "common/file.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "distribution/client/credentials.hpp"
#include "distribution/client/http.hpp"
#include "distribution/client/registry.hpp"
#include "engine/engine.hpp"
#include "image/settings.hpp"
#include "trust/policy_pull.hpp"

namespace berth::cli {
namespace {

std::atomic<bool> g_cancel{false};
std::atomic<int> g_signal{0};

void on_signal(int sig) {
    g_signal = sig;
    g_cancel = true;
}

struct BuildFlags {
    std::vector<std::string> tags, build_args, secrets, labels, outputs, cache_from, cache_to,
        no_cache_filter;
    std::string file, target, pull = "missing", platform, iidfile, metadata_file, progress = "auto",
                              network = "default", format = "oci", compression = "gzip", ssh,
                              context;
    bool no_cache = false, quiet = false, pull_given = false;
    bool prune_all = false, force = false;
};

void print_build_line(const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
}

int run_build(const BuildFlags& f, const std::string& root, const std::string& config,
              const std::string& authfile, const std::string& signature_policy) {
    image::Settings settings = image::load_settings(config);
    image::Images images(root);
    engine::Engine engine(root, images, settings);
    distribution::HttpClient http;
    distribution::CredentialStore credentials(authfile.empty() ? settings.auth_file : authfile);

    build::BuildOptions o;
    if (f.context == "-") {
        o.context_tar_fd = STDIN_FILENO;
    } else if (f.context.starts_with("http://") || f.context.starts_with("https://")) {
        o.context_url = f.context;
    } else {
        o.context_dir = f.context;
    }
    if (f.file == "-") {
        if (o.context_tar_fd >= 0)
            throw build::BuildError("-f - and a context on stdin: only one can come from stdin");
        o.containerfile_text = std::string(std::istreambuf_iterator<char>(std::cin), {});
    } else {
        o.containerfile = f.file;
    }
    o.tags = f.tags;
    for (const auto& a : f.build_args) {
        size_t eq = a.find('=');
        if (eq == std::string::npos) {
            // --build-arg NAME: the value of our own variable, when it is set.
            if (const char* v = std::getenv(a.c_str())) o.build_args.emplace_back(a, v);
        } else {
            o.build_args.emplace_back(a.substr(0, eq), a.substr(eq + 1));
        }
    }
    o.target = f.target;
    o.no_cache = f.no_cache;
    o.no_cache_filter = f.no_cache_filter;
    o.pull = f.pull_given && f.pull.empty() ? "always" : f.pull;
    if (o.pull == "true") o.pull = "always";
    if (o.pull == "false") o.pull = "missing";
    if (o.pull != "always" && o.pull != "missing" && o.pull != "never")
        throw build::BuildError("invalid --pull \"" + f.pull +
                                "\": expected always, missing or never");
    for (const auto& s : f.secrets)
        o.secrets.push_back(build::parse_secret_flag(s));
    for (const auto& l : f.labels) {
        size_t eq = l.find('=');
        o.labels.emplace_back(l.substr(0, eq), eq == std::string::npos ? "" : l.substr(eq + 1));
    }
    o.platform = f.platform;
    for (const auto& out : f.outputs)
        o.outputs.push_back(build::parse_typed_spec(out, "--output"));
    if (f.network != "default" && f.network != "none" && f.network != "host")
        throw build::BuildError("invalid --network \"" + f.network +
                                "\": expected default, none or host");
    o.network = f.network;
    for (const auto& c : f.cache_from)
        o.cache_from.push_back(build::parse_typed_spec(c, "--cache-from"));
    for (const auto& c : f.cache_to)
        o.cache_to.push_back(build::parse_typed_spec(c, "--cache-to"));
    o.format = f.format;
    o.compression = f.compression;
    o.ssh = f.ssh;
    if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH"); epoch && *epoch) {
        auto v = parse_int64(epoch);
        if (!v)
            throw build::BuildError("SOURCE_DATE_EPOCH=" + std::string(epoch) +
                                    ": not a number of seconds");
        o.source_date_epoch = v;
    }

    build::BuildEnvironment env{engine, images, settings, {}, &http, {}};
    env.registry = [&](const std::string& registry) {
        return distribution::open_registry(http, registry, settings, credentials);
    };
    // FROM's pulls under the signature policy (read once, when the first pull needs it).
    std::optional<trust::PolicyEnforcer> enforcer;
    env.pull = [&](image::Images& store, distribution::Registry& registry,
                   const image::Reference& ref, const distribution::PullOptions& options) {
        if (!enforcer) enforcer = trust::PolicyEnforcer::load(settings, {signature_policy, {}});
        return trust::pull_with_policy(store, registry, ref, options, *enforcer);
    };

    // ^C or SIGTERM: the build stops its containers and takes back what it made.
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);

    BuildProgressView view(stderr, BuildProgressView::mode_for(f.progress, stderr, f.quiet));
    build::BuildResult result;
    try {
        result = build::build(env, o, view, &g_cancel);
    } catch (const build::RunFailed& e) {
        view.finish();
        if (!e.last_output().empty())
            std::fprintf(stderr, "------\n%s\n------\n", e.last_output().c_str());
        log::error(e.what());
        return 1;
    } catch (const std::exception& e) {
        view.finish();
        log::error(e.what());
        if (g_signal != 0) return 128 + g_signal;
        return 1;
    }
    view.finish();
    if (!f.iidfile.empty()) write_file(f.iidfile, result.config.str());
    if (!f.metadata_file.empty()) {
        nlohmann::ordered_json j;
        j["containerimage.config.digest"] = result.config.str();
        j["containerimage.digest"] = result.manifest.str();
        j["containerimage.descriptor"] = {{"mediaType", result.manifest_media_type},
                                          {"digest", result.manifest.str()},
                                          {"size", result.manifest_size}};
        if (!result.names.empty()) j["image.name"] = join(result.names, ",");
        write_file(f.metadata_file, j.dump(2) + "\n");
    }
    if (result.stored || f.quiet) print_build_line(result.config.str());
    return 0;
}

}  // namespace

std::function<int()> add_build_commands(CLI::App& app, const std::string& root,
                                        const std::string& config, const std::string& authfile,
                                        const std::string& signature_policy,
                                        const std::string& requested) {
    auto f = std::make_shared<BuildFlags>();
    CLI::App* build = nullptr;
    CLI::App* prune = nullptr;
    if (requested.empty() || requested == "build") {
        build = app.add_subcommand("build", "build an image from a Containerfile");
        build->add_option("-t,--tag", f->tags, "name of the image (repeatable)")
            ->allow_extra_args(false);
        build->add_option(
            "-f,--file", f->file,
            "Containerfile (default CONTEXT/Containerfile or Dockerfile; - for stdin)");
        build
            ->add_option("--build-arg", f->build_args,
                         "KEY=VALUE (KEY alone: from the environment)")
            ->allow_extra_args(false);
        build->add_option("--target", f->target, "the stage to build");
        build->add_flag("--no-cache", f->no_cache, "do not use the cache");
        build
            ->add_option("--no-cache-filter", f->no_cache_filter,
                         "stages not to take from the cache")
            ->allow_extra_args(false);
        build->add_option("--pull", f->pull, "always, missing (default) or never; alone: always")
            ->expected(0, 1)
            ->each([f](const std::string&) { f->pull_given = true; });
        build->add_option("--secret", f->secrets, "id=ID,src=FILE or id=ID,env=VAR")
            ->allow_extra_args(false);
        build->add_option("--label", f->labels, "KEY=VALUE on the image")->allow_extra_args(false);
        build->add_option("--platform", f->platform, "os/arch (this machine's only)");
        build
            ->add_option("-o,--output", f->outputs,
                         "type=image|docker|oci|local|tar[,dest=...] (repeatable)")
            ->allow_extra_args(false);
        build->add_option("--iidfile", f->iidfile, "write the image id there");
        build->add_option("--metadata-file", f->metadata_file,
                          "write the result's metadata (JSON) there");
        build->add_flag("-q,--quiet", f->quiet, "no progress; print the image id");
        build->add_option("--progress", f->progress, "auto, tty, plain or quiet")
            ->check(CLI::IsMember({"auto", "tty", "plain", "quiet"}));
        build->add_option("--network", f->network, "RUN's network: default, none or host");
        build
            ->add_option("--cache-from", f->cache_from, "type=registry,ref=R or type=local,src=DIR")
            ->allow_extra_args(false);
        build->add_option("--cache-to", f->cache_to, "type=registry,ref=R or type=local,dest=DIR")
            ->allow_extra_args(false);
        build->add_option("--format", f->format, "oci (default) or docker")
            ->check(CLI::IsMember({"oci", "docker"}));
        build->add_option("--compression", f->compression, "gzip (default) or zstd")
            ->check(CLI::IsMember({"gzip", "zstd"}));
        build->add_option("--ssh", f->ssh, "default (SSH_AUTH_SOCK) or an agent socket");
        build
            ->add_option("context", f->context,
                         "directory, - (a tarball or a Containerfile on stdin) or URL")
            ->required();
    }
    if (requested.empty() || requested == "builder") {
        CLI::App* builder = app.add_subcommand("builder", "manage the build cache");
        builder->require_subcommand(1);
        prune = builder->add_subcommand("prune", "remove the build cache");
        prune->add_flag("-a,--all", f->prune_all,
                        "everything (the default: the cache holds nothing else)");
        prune->add_flag("-f,--force", f->force, "accepted for docker compatibility");
    }
    return [=, &root, &config, &authfile, &signature_policy]() -> int {
        if (build && build->parsed()) {
            try {
                return run_build(*f, root, config, authfile, signature_policy);
            } catch (const std::exception& e) {
                log::error(e.what());
                return 1;
            }
        }
        if (prune && prune->parsed()) {
            try {
                image::Images images(root);
                int64_t freed = build::prune_build_cache(images);
                print_build_line("Total reclaimed space: " + human_size(freed));
                return 0;
            } catch (const std::exception& e) {
                log::error(e.what());
                return 1;
            }
        }
        return -1;
    };
}

}  // namespace berth::cli
