#include "cli/registry_commands.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "common/error.hpp"
#include "common/log.hpp"
#include "distribution/server/config.hpp"
#include "distribution/server/garbage_collector.hpp"
#include "distribution/server/server.hpp"

namespace berth::cli {
namespace {

using registry::RegistryConfig;

// Flags as given; only the ones on the command line override the config file.
struct ServeFlags {
    std::string config_file;
    RegistryConfig values;
    int64_t upload_expiry = 0, read_timeout = 0, write_timeout = 0, shutdown_grace = 0,
            cache_ttl = 0, token_expiry = 0;
    std::string token_mode;
    bool no_access_log = false;
    bool no_delete = false;
};

template <class F>
[[noreturn]] void run_and_exit(F&& body) {
    try {
        body();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "berth registry: %s\n", e.what());
        std::exit(1);
    }
    std::exit(0);
}

void apply_flags(CLI::App& cmd, const ServeFlags& f, RegistryConfig& c) {
    auto given = [&](const char* name) { return cmd.count(name) > 0; };
    const RegistryConfig& v = f.values;
    if (given("--addr")) c.addr = v.addr;
    if (given("--root")) c.root = v.root;
    if (given("--plain-http")) c.plain_http = true;
    if (given("--tls-cert")) c.tls_cert = v.tls_cert;
    if (given("--tls-key")) c.tls_key = v.tls_key;
    if (f.no_delete) c.delete_enabled = false;
    if (f.no_access_log) c.access_log = false;
    if (given("--upload-expiry")) c.upload_expiry = std::chrono::seconds(f.upload_expiry);
    if (given("--read-timeout")) c.read_timeout = std::chrono::seconds(f.read_timeout);
    if (given("--write-timeout")) c.write_timeout = std::chrono::seconds(f.write_timeout);
    if (given("--shutdown-grace")) c.shutdown_grace = std::chrono::seconds(f.shutdown_grace);
    if (given("--max-manifest-size")) c.max_manifest_size = v.max_manifest_size;
    if (given("--max-body-size")) c.max_body_size = v.max_body_size;
    if (given("--max-connections")) c.max_connections = v.max_connections;
    if (given("--threads")) c.threads = v.threads;
    if (given("--htpasswd")) c.auth.htpasswd = v.auth.htpasswd;
    if (given("--anonymous-read")) c.auth.anonymous_read = true;
    if (given("--token")) {
        if (f.token_mode == "builtin")
            c.auth.token = registry::TokenMode::builtin;
        else if (f.token_mode == "external")
            c.auth.token = registry::TokenMode::external;
        else
            c.auth.token = registry::TokenMode::none;
    }
    if (given("--token-realm")) c.auth.token_realm = v.auth.token_realm;
    if (given("--token-key")) c.auth.token_key = v.auth.token_key;
    if (given("--token-public-key")) c.auth.token_public_key = v.auth.token_public_key;
    if (given("--token-issuer")) c.auth.token_issuer = v.auth.token_issuer;
    if (given("--token-service")) c.auth.token_service = v.auth.token_service;
    if (given("--token-expiry")) c.auth.token_expiry = std::chrono::seconds(f.token_expiry);
    if (given("--upstream")) c.proxy.upstream = v.proxy.upstream;
    if (given("--upstream-username")) c.proxy.username = v.proxy.username;
    if (given("--upstream-password")) c.proxy.password = v.proxy.password;
    if (given("--cache-ttl")) c.proxy.ttl = std::chrono::seconds(f.cache_ttl);
}

}  // namespace

void add_registry_commands(CLI::App& app) {
    CLI::App* registry_cmd =
        app.add_subcommand("registry", "run a private OCI registry or pull-through cache");
    registry_cmd->require_subcommand(1);

    auto flags = std::make_shared<ServeFlags>();
    CLI::App* serve = registry_cmd->add_subcommand("serve", "serve the OCI distribution API");
    RegistryConfig& v = flags->values;
    serve->add_option("--config", flags->config_file,
                      "configuration file (TOML, same names as the flags)");
    serve->add_option("--addr", v.addr, "HOST:PORT to listen on (default 127.0.0.1:5000)");
    serve->add_option("--root", v.root, "storage directory (default /var/lib/berth-registry)");
    serve->add_flag("--plain-http", v.plain_http, "allow plain HTTP on a non-loopback address");
    serve->add_option("--tls-cert", v.tls_cert, "TLS certificate chain (PEM)");
    serve->add_option("--tls-key", v.tls_key, "TLS private key (PEM)");
    serve->add_option("--htpasswd", v.auth.htpasswd,
                      "htpasswd file of bcrypt hashes (htpasswd -B)");
    serve->add_flag("--anonymous-read", v.auth.anonymous_read, "anyone may pull");
    serve
        ->add_option("--token", flags->token_mode,
                     "bearer tokens: builtin (our /token) or external")
        ->check(CLI::IsMember({"builtin", "external", "none"}));
    serve->add_option("--token-realm", v.auth.token_realm,
                      "token endpoint URL announced to clients");
    serve->add_option("--token-key", v.auth.token_key,
                      "builtin: RSA signing key (PEM; made if missing)");
    serve->add_option("--token-public-key", v.auth.token_public_key,
                      "external issuer's public key or certificate");
    serve->add_option("--token-issuer", v.auth.token_issuer, "token issuer name (iss)");
    serve->add_option("--token-service", v.auth.token_service, "service name (aud)");
    serve->add_option("--token-expiry", flags->token_expiry, "token lifetime in seconds");
    serve->add_option("--upstream", v.proxy.upstream,
                      "be a pull-through cache of this registry URL");
    serve->add_option("--upstream-username", v.proxy.username, "user name for the upstream");
    serve->add_option("--upstream-password", v.proxy.password, "password for the upstream");
    serve->add_option("--cache-ttl", flags->cache_ttl,
                      "seconds before a cached tag is revalidated upstream");
    serve->add_option("--upload-expiry", flags->upload_expiry,
                      "seconds before an idle upload session is removed");
    serve->add_option("--read-timeout", flags->read_timeout,
                      "seconds for a request head and each body read");
    serve->add_option("--write-timeout", flags->write_timeout, "seconds for each response write");
    serve->add_option("--shutdown-grace", flags->shutdown_grace,
                      "seconds requests in flight get on SIGTERM");
    serve->add_option("--max-manifest-size", v.max_manifest_size,
                      "largest manifest accepted, bytes");
    serve->add_option("--max-body-size", v.max_body_size, "largest upload request body, bytes");
    serve->add_option("--max-connections", v.max_connections, "connections beyond this get 429");
    serve->add_option("--threads", v.threads, "I/O threads (default: one per core)");
    serve->add_flag("--no-delete", flags->no_delete, "refuse manifest and blob deletes");
    serve->add_flag("--no-access-log", flags->no_access_log, "no JSON access log on stderr");
    serve->callback([serve, flags] {
        run_and_exit([&] {
            log::set_program_name("berth registry");
            log::configure("", log::Format::text, false);
            RegistryConfig config;
            if (!flags->config_file.empty()) registry::load_config_file(flags->config_file, config);
            apply_flags(*serve, *flags, config);
            registry::RegistryServer server(config);
            server.run();
        });
    });

    auto gc_root = std::make_shared<std::string>();
    auto gc_config = std::make_shared<std::string>();
    auto gc_options = std::make_shared<registry::GcOptions>();
    auto grace = std::make_shared<int64_t>(3600);
    CLI::App* gc = registry_cmd->add_subcommand(
        "gc", "remove blobs (and untagged manifests) nothing references");
    gc->add_option("--root", *gc_root, "storage directory (default /var/lib/berth-registry)");
    gc->add_option("--config", *gc_config, "configuration file (for its root)");
    gc->add_flag("--dry-run", gc_options->dry_run, "only report what would be removed");
    gc->add_flag("--delete-untagged", gc_options->delete_untagged,
                 "also remove manifests no tag reaches");
    gc->add_option("--grace", *grace, "keep blobs younger than this many seconds (default 3600)");
    gc->callback([=] {
        run_and_exit([&] {
            RegistryConfig config;
            if (!gc_config->empty()) registry::load_config_file(*gc_config, config);
            if (!gc_root->empty()) config.root = *gc_root;
            gc_options->grace = std::chrono::seconds(*grace);
            registry::Storage storage(config.root);
            const auto report = registry::collect_garbage(storage, *gc_options);
            const char* verb = gc_options->dry_run ? "would remove" : "removed";
            for (const auto& manifest : report.manifests_removed)
                std::printf("%s manifest %s\n", verb, manifest.c_str());
            for (const auto& blob : report.blobs_removed)
                std::printf("%s blob %s\n", verb, blob.c_str());
            std::printf(
                "%zu manifests and %zu blobs kept; %s %zu manifests and %zu blobs (%llu bytes)\n",
                report.manifests_kept, report.blobs_kept, verb, report.manifests_removed.size(),
                report.blobs_removed.size(), static_cast<unsigned long long>(report.bytes_freed));
        });
    });
}

}  // namespace berth::cli
