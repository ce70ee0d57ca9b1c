// berth: images (and, later, containers) with docker-like verbs. Parses arguments and
// prints; the work is in src/image and src/distribution.
#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "cli/build_commands.hpp"
#include "cli/engine_commands.hpp"
#include "cli/image_views.hpp"
#include "cli/progress_printer.hpp"
#include "cli/registry_commands.hpp"
#include "cli/requested_verb.hpp"
#include "cli/trust_commands.hpp"
#include "common/error.hpp"
#include "common/file.hpp"
#include "common/log.hpp"
#include "common/path.hpp"
#include "common/remove_tree.hpp"
#include "distribution/client/credentials.hpp"
#include "distribution/client/pull.hpp"
#include "distribution/client/push.hpp"
#include "distribution/client/registry.hpp"
#include "engine/rootless/namespace.hpp"
#include "image/archive_load.hpp"
#include "image/docker_archive.hpp"
#include "image/gc.hpp"
#include "image/import_rootfs.hpp"
#include "image/oci_layout.hpp"
#include "image/platform.hpp"
#include "image/runtime_config.hpp"
#include "trust/policy_pull.hpp"

using namespace berth;

namespace {

std::string default_root() {
    return engine::rootless() ? engine::rootless_default_root() : "/var/lib/berth";
}

void print(const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    if (!text.empty() && text.back() != '\n') std::fputc('\n', stdout);
}

std::string read_password(bool from_stdin) {
    std::string password;
    if (from_stdin || !::isatty(STDIN_FILENO)) {
        std::getline(std::cin, password);
        while (!password.empty() && (password.back() == '\n' || password.back() == '\r'))
            password.pop_back();
        return password;
    }
    std::fprintf(stderr, "Password: ");
    termios old{};
    ::tcgetattr(STDIN_FILENO, &old);
    termios silent = old;
    silent.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &silent);
    std::getline(std::cin, password);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::fprintf(stderr, "\n");
    return password;
}

// A file named on the command line, or stdin/stdout for "-".
UniqueFd open_input(const std::string& path) {
    if (path == "-") return UniqueFd(::dup(STDIN_FILENO));
    return open_file(path, O_RDONLY);
}

bool is_directory(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string base_without_extension(const std::string& path) {
    std::string base = base_name(path);
    for (const char* ext : {".tar.gz", ".tgz", ".tar.zst", ".tar"})
        if (base.ends_with(ext)) return base.substr(0, base.size() - std::string(ext).size());
    return base;
}

struct Globals {
    std::string root = default_root();
    std::string config;
    std::string authfile;
    std::string signature_policy;
    bool debug = false;
};

class Context {
  public:
    explicit Context(const Globals& g)
        : settings_(image::load_settings(g.config)),
          images_(g.root),
          credentials_(g.authfile.empty() ? settings_.auth_file : g.authfile) {}
    image::Settings& settings() { return settings_; }
    image::Images& images() { return images_; }
    distribution::CredentialStore& credentials() { return credentials_; }
    distribution::HttpClient& http() { return http_; }
    std::unique_ptr<distribution::Registry> registry(const std::string& name) {
        return distribution::open_registry(http_, name, settings_, credentials_);
    }

  private:
    image::Settings settings_;
    image::Images images_;
    distribution::CredentialStore credentials_;
    distribution::HttpClient http_;
};

}  // namespace

int main(int argc, char** argv) {
    log::set_program_name("berth");
    // First, while this process has a single thread: an unprivileged user's berth works in
    // its user and mount namespaces (uid 0 = the user, sub-ids for the images' owners).
    try {
        engine::enter_rootless_namespace();
    } catch (const Error& e) {
        log::error(e.what());
        return 125;
    }
    CLI::App app{"berth: containers and images (run, ps, logs, pull, push, ...)", "berth"};
    app.require_subcommand(1);
    app.set_version_flag("-v,--version", std::string("berth version ") + BERTH_VERSION);
    // Only the requested verb's subcommand is built (cli/requested_verb.hpp); no verb or an
    // unknown one: all of them, for the help and the error.
    const std::string requested =
        cli::requested_verb(argc, argv, {"--root", "--config", "--authfile", "--signature-policy"});
    auto wants = [&requested](std::string_view name) {
        return requested.empty() || requested == name;
    };
    auto parsed = [](const CLI::App* cmd) { return cmd && cmd->parsed(); };
    auto subcommand = [&](const std::string& name, const std::string& help) -> CLI::App* {
        return wants(name) ? app.add_subcommand(name, help) : nullptr;
    };
    Globals g;
    app.add_option("--root", g.root,
                   "storage root (default /var/lib/berth; rootless: $XDG_DATA_HOME/berth)");
    app.add_option("--config", g.config, "configuration file (TOML)");
    app.add_option("--authfile", g.authfile, "credentials file (docker config.json format)");
    app.add_option("--signature-policy", g.signature_policy,
                   "containers-policy.json for pulls (default: [trust] signature-policy, "
                   "~/.config/containers/policy.json, /etc/containers/policy.json)");
    app.add_flag("--debug", g.debug, "debug logging");

    // pull
    std::string pull_ref, platform_text;
    bool quiet = false;
    CLI::App* pull = subcommand("pull", "pull an image from a registry");
    if (pull) {
        pull->add_option("image", pull_ref, "image reference")->required();
        pull->add_option("--platform", platform_text,
                         "OS/ARCH[/VARIANT] (default: this machine's)");
        pull->add_flag("-q,--quiet", quiet, "no progress output; print the image id");
        pull->add_option("--signature-policy", g.signature_policy,
                         "containers-policy.json that decides which images may be pulled");
    }

    // push
    std::string push_source, push_dest;
    int64_t chunk_size = 64 * 1024 * 1024;
    CLI::App* push = subcommand("push", "push an image to a registry");
    if (push) {
        push->add_option("image", push_source, "local image")->required();
        push->add_option("destination", push_dest,
                         "reference to push to (default: the image name)");
        push->add_flag("-q,--quiet", quiet, "no progress output");
        push->add_option("--chunk-size", chunk_size,
                         "upload blobs larger than this in chunks of this size (0: monolithic)");
    }

    // images
    std::string format = "table";
    bool ids_only = false;
    auto add_images = [&](CLI::App* cmd) {
        cmd->add_option("--format", format, "table or json")
            ->check(CLI::IsMember({"table", "json"}));
        cmd->add_flag("-q,--quiet", ids_only, "image ids only");
    };
    CLI::App* images_cmd = subcommand("images", "list images");
    if (images_cmd) {
        add_images(images_cmd);
    }

    // rmi
    std::vector<std::string> rmi_refs;
    bool force = false;
    auto add_rmi = [&](CLI::App* cmd) {
        cmd->add_option("image", rmi_refs, "images to remove")->required();
        cmd->add_flag("-f,--force", force, "remove an image with several names by id");
    };
    CLI::App* rmi = subcommand("rmi", "remove images");
    if (rmi) {
        add_rmi(rmi);
    }

    // tag
    std::string tag_source;
    std::vector<std::string> tag_targets;
    CLI::App* tag = subcommand("tag", "add names to an image");
    if (tag) {
        tag->add_option("source", tag_source, "image")->required();
        tag->add_option("target", tag_targets, "new names")->required();
    }

    // inspect
    std::vector<std::string> inspect_refs;
    auto add_inspect = [&](CLI::App* cmd) {
        cmd->add_option("image", inspect_refs, "images")->required();
    };

    // save
    std::vector<std::string> save_refs;
    std::string output = "-", save_format = "docker-archive";
    CLI::App* save = subcommand("save", "write images to an archive or OCI layout");
    if (save) {
        save->add_option("image", save_refs, "images")->required();
        save->add_option("-o,--output", output, "file, directory (oci-dir) or - for stdout");
        save->add_option("--format", save_format, "docker-archive, oci-archive or oci-dir")
            ->check(CLI::IsMember({"docker-archive", "oci-archive", "oci-dir"}));
    }

    // load
    std::string input = "-";
    CLI::App* load = subcommand("load", "read images from an archive or OCI layout");
    if (load) {
        load->add_option("-i,--input", input,
                         "docker-archive or oci-archive file, OCI layout "
                         "directory, or - for stdin");
        load->add_flag("-q,--quiet", quiet, "print only the names loaded");
    }

    // import
    std::string import_source, import_name, import_message;
    std::vector<std::string> import_cmd;
    CLI::App* import = subcommand("import", "make a one-layer image from a rootfs tarball");
    if (import) {
        import->add_option("file", import_source, "tarball (plain, gzip or zstd) or - for stdin")
            ->required();
        import->add_option("reference", import_name, "name for the image");
        import->add_option("--platform", platform_text, "OS/ARCH[/VARIANT] recorded in the config");
        import->add_option("-m,--message", import_message, "history comment");
        import->add_option("--cmd", import_cmd, "Cmd of the image config (repeat for each word)")
            ->allow_extra_args(false);
    }

    // login / logout
    std::string login_registry, username, password;
    bool password_stdin = false;
    CLI::App* login = subcommand("login", "store credentials for a registry");
    if (login) {
        login->add_option("registry", login_registry, "registry host[:port]")->required();
        login->add_option("-u,--username", username, "user name");
        login->add_option("-p,--password", password, "password (prefer --password-stdin)");
        login->add_flag("--password-stdin", password_stdin, "read the password from stdin");
    }
    CLI::App* logout = subcommand("logout", "remove stored credentials");
    if (logout) {
        logout->add_option("registry", login_registry, "registry host[:port]")->required();
    }

    // image ...
    bool prune_all = false;
    std::string unpack_ref, unpack_dir;
    CLI::App *image_cmd = nullptr, *prune = nullptr, *image_ls = nullptr, *image_rm = nullptr,
             *image_inspect = nullptr, *unpack = nullptr;
    if (wants("image")) {
        image_cmd = app.add_subcommand("image", "manage images");
        image_cmd->require_subcommand(1);
        prune = image_cmd->add_subcommand("prune", "remove unnamed images and unused data");
        prune->add_flag("-a,--all", prune_all, "remove every image, not only unnamed ones");
        prune->add_flag("-f,--force", force, "accepted for docker compatibility");
        image_ls = image_cmd->add_subcommand("ls", "list images");
        add_images(image_ls);
        image_rm = image_cmd->add_subcommand("rm", "remove images");
        add_rmi(image_rm);
        image_inspect = image_cmd->add_subcommand("inspect", "show images as JSON");
        add_inspect(image_inspect);
        unpack = image_cmd->add_subcommand(
            "unpack", "write an image as a runtime bundle: DIR/rootfs and DIR/config.json");
        unpack->add_option("image", unpack_ref, "image")->required();
        unpack->add_option("dir", unpack_dir, "bundle directory (must not exist or be empty)")
            ->required();
    }

    if (wants("registry")) cli::add_registry_commands(app);
    auto run_engine_verb =
        cli::add_engine_commands(app, g.root, g.config, g.authfile, g.signature_policy, requested);
    auto run_trust_verb =
        cli::add_trust_commands(app, {g.root, g.config, g.authfile, g.signature_policy}, requested);
    auto run_build_verb =
        cli::add_build_commands(app, g.root, g.config, g.authfile, g.signature_policy, requested);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e);
        return code == 0 ? 0 : 1;
    }
    log::configure("", log::Format::text, g.debug);
    if (int code = run_build_verb(); code >= 0) {
        std::fflush(stdout);
        std::fflush(stderr);
        ::_exit(code);
    }
    if (int code = run_engine_verb(); code >= 0) {
        // Whatever the verb made (database connections, locks, temp files) was released
        // when its Session went, inside run_engine_verb. What is left is memory and the
        // libraries' exit handlers (OpenSSL's cleanup among them), which the kernel's
        // teardown makes redundant: ~0.7 ms of every engine command here.
        std::fflush(stdout);
        std::fflush(stderr);
        ::_exit(code);
    }
    if (int code = run_trust_verb(); code >= 0) return code;

    try {
        Context ctx(g);
        image::Images& images = ctx.images();
        oci::Platform platform = platform_text.empty() ? image::host_platform()
                                                       : image::parse_platform_spec(platform_text);

        if (parsed(pull)) {
            image::Reference ref = ctx.settings().resolve(pull_ref);
            if (ref.tag.empty() && !ref.digest) ref.tag = "latest";
            auto registry = ctx.registry(ref.registry);
            cli::ProgressPrinter printer(stderr, cli::progress_mode(stderr, quiet));
            distribution::PullOptions options;
            options.platform = platform;
            options.max_concurrent = ctx.settings().max_concurrent_downloads;
            options.observer = &printer;
            auto enforcer = trust::PolicyEnforcer::load(ctx.settings(), {g.signature_policy, {}});
            auto result = trust::pull_with_policy(images, *registry, ref, options, enforcer);
            printer.finish();
            if (!quiet)
                std::fprintf(stderr, "%s: %s\n", result.name.c_str(),
                             result.up_to_date ? "image is up to date"
                                               : ("downloaded " + result.record.id.str()).c_str());
            print(result.record.config.str());
        } else if (parsed(push)) {
            image::ImageRecord record = images.find(push_source, ctx.settings());
            std::string dest_text = push_dest;
            if (dest_text.empty()) {
                if (record.names.empty() && push_source.find('/') == std::string::npos)
                    throw Error("push " + push_source + ": name a destination");
                dest_text = push_source;
            }
            image::Reference dest = ctx.settings().resolve(dest_text);
            if (dest.tag.empty() && !dest.digest) dest.tag = "latest";
            auto registry = ctx.registry(dest.registry);
            cli::ProgressPrinter printer(stderr, cli::progress_mode(stderr, quiet));
            distribution::PushOptions options;
            options.chunk_size = chunk_size;
            options.max_concurrent = ctx.settings().max_concurrent_downloads;
            options.observer = &printer;
            auto result =
                distribution::push_image(images, *registry, images.load(record), dest, options);
            printer.finish();
            print(result.digest.str());
        } else if (parsed(images_cmd) || parsed(image_ls)) {
            auto records = images.db().list();
            if (format == "json")
                print(cli::images_json(images, records).dump(2));
            else
                std::fputs(cli::images_table(images, records, ids_only).c_str(), stdout);
        } else if (parsed(rmi) || parsed(image_rm)) {
            for (const auto& ref : rmi_refs) {
                auto result = image::remove_image(images, ref, ctx.settings(), force);
                for (const auto& name : result.untagged)
                    print("Untagged: " + name);
                for (const auto& id : result.deleted)
                    print("Deleted: " + id.str());
            }
        } else if (parsed(tag)) {
            image::ImageRecord record = images.find(tag_source, ctx.settings());
            for (const auto& target : tag_targets) {
                image::Reference ref = ctx.settings().resolve(target);
                if (ref.digest) throw Error("tag " + target + ": a tag cannot name a digest");
                if (ref.tag.empty()) ref.tag = "latest";
                images.db().add_name(ref.str(), record.id);
            }
        } else if (parsed(image_inspect)) {
            nlohmann::ordered_json out = nlohmann::ordered_json::array();
            for (const auto& ref : inspect_refs)
                out.push_back(cli::inspect_json(images, images.find(ref, ctx.settings())));
            print(out.dump(2));
        } else if (parsed(save)) {
            std::vector<image::SaveItem> items;
            for (const auto& ref : save_refs) {
                image::ImageRecord record = images.find(ref, ctx.settings());
                std::string name;
                if (auto resolved = images.db().by_name(ctx.settings().resolve(ref).str()))
                    name = ctx.settings().resolve(ref).str();
                for (const auto& n : record.names)
                    if (name.empty()) name = n;
                if (name.find('@') != std::string::npos) name.clear();
                items.push_back({record, name});
            }
            if (save_format == "oci-dir") {
                if (output == "-") throw Error("save --format oci-dir needs -o DIR");
                image::write_oci_layout(images, items, *image::directory_sink(output));
            } else {
                if (output == "-" && ::isatty(STDOUT_FILENO))
                    throw Error("save: refusing to write an archive to a terminal (use -o FILE)");
                auto sink = image::tar_sink(output);
                if (save_format == "oci-archive")
                    image::write_oci_layout(images, items, *sink);
                else
                    image::write_docker_archive(images, items, *sink);
            }
        } else if (parsed(load)) {
            image::LoadOptions options;
            options.platform = platform;
            options.name_hint = input == "-" ? "image" : base_without_extension(input);
            std::vector<image::ImageRecord> loaded;
            if (input != "-" && is_directory(input)) {
                loaded = image::load_oci_layout_dir(images, input, options);
            } else {
                UniqueFd fd = open_input(input);
                loaded =
                    image::load_archive(images, fd.get(), input == "-" ? "stdin" : input, options);
            }
            for (const auto& r : loaded) {
                if (r.names.empty()) print("Loaded image: " + r.config.str());
                for (const auto& name : r.names)
                    print("Loaded image: " + name);
            }
        } else if (parsed(import)) {
            image::ImportOptions options;
            if (!import_name.empty()) {
                image::Reference ref = ctx.settings().resolve(import_name);
                if (ref.tag.empty() && !ref.digest) ref.tag = "latest";
                options.name = ref.str();
            }
            options.platform = platform;
            options.message = import_message;
            options.cmd = import_cmd;
            UniqueFd fd = open_input(import_source);
            auto record = image::import_rootfs(
                images, fd.get(), import_source == "-" ? "stdin" : import_source, options);
            print(record.config.str());
        } else if (parsed(login)) {
            if (username.empty()) {
                std::fprintf(stderr, "Username: ");
                std::getline(std::cin, username);
            }
            if (password.empty()) password = read_password(password_stdin);
            if (username.empty() || password.empty())
                throw Error("login " + login_registry + ": user name and password are required");
            distribution::Credentials creds{username, password, ""};
            distribution::RegistryOptions options;
            options.insecure = ctx.settings().is_insecure(login_registry);
            distribution::Registry registry(ctx.http(), login_registry, creds, options);
            registry.verify_credentials();
            ctx.credentials().set(login_registry, creds);
            print("Login Succeeded");
        } else if (parsed(logout)) {
            if (!ctx.credentials().erase(login_registry))
                throw Error("logout " + login_registry + ": not logged in (" +
                            ctx.credentials().path() + ")");
            print("Removed login credentials for " + login_registry);
        } else if (parsed(prune)) {
            auto result = image::prune_images(images, prune_all);
            for (const auto& id : result.images_removed)
                print("Deleted: " + id.str());
            print("Total reclaimed space: " + cli::human_size(result.gc.bytes_freed));
        } else if (parsed(unpack)) {
            image::Image image = images.load(images.find(unpack_ref, ctx.settings()));
            if (::mkdir(unpack_dir.c_str(), 0755) < 0 && errno != EEXIST)
                throw_errno("mkdir", unpack_dir);
            std::string rootfs = unpack_dir + "/rootfs";
            std::string temp = unpack_dir + "/.rootfs.tmp";
            if (::access(rootfs.c_str(), F_OK) == 0) throw Error(rootfs + " exists already");
            remove_tree(temp);
            if (::mkdir(temp.c_str(), 0755) < 0) throw_errno("mkdir", temp);
            try {
                UniqueFd dir = open_file(temp, O_RDONLY | O_DIRECTORY);
                images.unpack_flat(image, dir.get());
                image::RuntimeConfigOptions options;
                options.default_command = {"sh"};  // as umoci and `runc spec` write
                auto config = image::make_runtime_config(image.config, dir.get(), options);
                write_file_atomic(unpack_dir + "/config.json", config.spec.dump(2) + "\n");
                if (::rename(temp.c_str(), rootfs.c_str()) < 0) throw_errno("rename", temp);
            } catch (...) {
                remove_tree(temp);
                throw;
            }
        }
    } catch (const std::exception& e) {
        log::error(e.what());
        return 1;
    }
    return 0;
}
