// Argument parsing and printing for the trust verbs; the work is in src/trust.
#include "cli/trust_commands.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/text_table.hpp"
#include "common/error.hpp"
#include "common/file.hpp"
#include "common/log.hpp"
#include "distribution/client/credentials.hpp"
#include "distribution/client/registry.hpp"
#include "image/images.hpp"
#include "trust/encrypted_key.hpp"
#include "trust/image_signing.hpp"
#include "trust/provenance.hpp"
#include "trust/referrers.hpp"
#include "trust/sbom/catalog.hpp"
#include "trust/sbom/writers.hpp"

namespace berth::cli {
namespace {

void emit_text(const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    if (!text.empty() && text.back() != '\n') std::fputc('\n', stdout);
}

std::string prompt_secret(const char* prompt) {
    std::fprintf(stderr, "%s", prompt);
    termios old{};
    ::tcgetattr(STDIN_FILENO, &old);
    termios silent = old;
    silent.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &silent);
    std::string password;
    std::getline(std::cin, password);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::fprintf(stderr, "\n");
    return password;
}

// --password-stdin, else $BERTH_PASSWORD (set, even empty), else a prompt on a terminal
// (twice when a new key is made).
std::string key_password(bool from_stdin, bool confirm) {
    if (from_stdin) {
        std::string password;
        std::getline(std::cin, password);
        while (!password.empty() && (password.back() == '\n' || password.back() == '\r'))
            password.pop_back();
        return password;
    }
    if (const char* env = std::getenv("BERTH_PASSWORD")) return env;
    if (!::isatty(STDIN_FILENO))
        throw Error("no password for the key: use --password-stdin or set BERTH_PASSWORD");
    std::string password = prompt_secret("Enter password for private key: ");
    if (confirm && prompt_secret("Enter password for private key again: ") != password)
        throw Error("the passwords do not match");
    return password;
}

struct Context {
    explicit Context(const TrustGlobals& g)
        : settings(image::load_settings(g.config)),
          credentials(g.authfile.empty() ? settings.auth_file : g.authfile) {}
    std::unique_ptr<distribution::Registry> registry(const std::string& name) {
        return distribution::open_registry(http, name, settings, credentials);
    }
    image::Reference reference(const std::string& text) const {
        image::Reference ref = settings.resolve(text);
        if (ref.tag.empty() && !ref.digest) ref.tag = "latest";
        return ref;
    }
    image::Settings settings;
    distribution::CredentialStore credentials;
    distribution::HttpClient http;
};

trust::PrivateKey load_signing_key(const std::string& path, bool password_stdin) {
    std::string pem = read_file(path);
    return trust::decrypt_private_key(pem, key_password(password_stdin, false), path);
}

std::map<std::string, std::string> parse_annotations(const std::vector<std::string>& items) {
    std::map<std::string, std::string> out;
    for (const auto& item : items) {
        auto eq = item.find('=');
        if (eq == std::string::npos || eq == 0)
            throw Error("-a " + item + ": an annotation is KEY=VALUE");
        out[item.substr(0, eq)] = item.substr(eq + 1);
    }
    return out;
}

std::string sbom_table(const trust::sbom::Catalog& catalog) {
    std::vector<std::vector<std::string>> rows{{"NAME", "VERSION", "TYPE", "LAYER"}};
    for (const auto& p : catalog.packages)
        rows.push_back({p.name, p.version, p.type, p.layer.empty() ? "" : p.layer.short_hex()});
    std::string out;
    if (!catalog.os.empty())
        out += "OS: " + (catalog.os.pretty_name.empty() ? catalog.os.id : catalog.os.pretty_name) +
               "\n";
    return out + aligned_columns(rows);
}

void write_output(const std::string& path, const std::string& text) {
    if (path.empty() || path == "-") {
        std::fwrite(text.data(), 1, text.size(), stdout);
        return;
    }
    // A regular file is replaced atomically; a device or pipe (/dev/null, /dev/stdout) is
    // written to, never renamed over.
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        write_file(path, text);
    else
        write_file_atomic(path, text, 0644);
}

}  // namespace

int inspect_provenance(const TrustGlobals& globals, const std::string& image,
                       const std::string& key_path) {
    Context c(globals);
    image::Reference ref = c.reference(image);
    std::optional<trust::PublicKey> key;
    if (!key_path.empty()) key = trust::load_public_key(read_file(key_path), key_path);
    auto registry = c.registry(ref.registry);
    Digest subject = trust::attachment_subject(*registry, ref);
    trust::ProvenanceLookup found =
        trust::find_provenance(*registry, ref.repository, subject, key ? &*key : nullptr);
    if (found.accepted.empty()) {
        std::string why = found.rejected.empty() ? "no provenance attached to " + subject.str()
                                                 : found.rejected.front();
        for (size_t i = 1; i < found.rejected.size(); ++i)
            why += "; " + found.rejected[i];
        throw Error("inspect --provenance " + ref.str() + ": " + why);
    }
    for (const auto& why : found.rejected)
        log::warn("ignored: " + why);
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : found.accepted)
        out.push_back(nlohmann::json::parse(p.statement_json));
    emit_text(out.dump(2));
    std::string signer = key ? ", signed by " + key_path : "";
    std::fprintf(stderr, "%zu provenance statement(s) of %s@%s%s\n", found.accepted.size(),
                 ref.name().c_str(), subject.str().c_str(), signer.c_str());
    return 0;
}

std::function<int()> add_trust_commands(CLI::App& app, const TrustGlobals& globals,
                                        const std::string& requested) {
    struct State {
        std::string prefix = "cosign", key, image, identity, attach = "tag", format = "spdx-json",
                    output;
        bool password_stdin = false, attach_sbom = false, from_registry = false;
        std::vector<std::string> annotations;
    };
    auto s = std::make_shared<State>();
    std::vector<std::pair<CLI::App*, std::function<int(Context&)>>> verbs;
    auto wants = [&requested](std::string_view name) {
        return requested.empty() || requested == name;
    };

    if (wants("key")) {
        CLI::App* key_cmd = app.add_subcommand("key", "signing keys (sigstore/cosign format)");
        key_cmd->require_subcommand(1);
        CLI::App* generate = key_cmd->add_subcommand(
            "generate", "write an ECDSA P-256 key pair: PREFIX.key (encrypted) and PREFIX.pub");
        generate->add_option("--output-key-prefix", s->prefix, "file name prefix (default cosign)");
        generate->add_flag("--password-stdin", s->password_stdin, "read the password from stdin");
        verbs.emplace_back(generate, [s](Context&) {
            std::string key_path = s->prefix + ".key", pub_path = s->prefix + ".pub";
            for (const auto& path : {key_path, pub_path})
                if (::access(path.c_str(), F_OK) == 0)
                    throw Error("key generate: " + path + " exists already (not overwritten)");
            std::string password = key_password(s->password_stdin, true);
            trust::PrivateKey key = trust::PrivateKey::generate();
            std::string encrypted = trust::encrypt_private_key(key, password);
            write_file_atomic(key_path, encrypted, 0600);
            write_file_atomic(pub_path, key.public_key().pem(), 0644);
            std::fprintf(stderr, "Private key written to %s\nPublic key written to %s\n",
                         key_path.c_str(), pub_path.c_str());
            return 0;
        });
    }

    if (wants("sign")) {
        CLI::App* sign = app.add_subcommand("sign", "sign an image in a registry (cosign format)");
        sign->add_option("--key", s->key, "private key (from berth key generate or cosign)")
            ->required();
        sign->add_option("-a,--annotations", s->annotations, "KEY=VALUE in the payload's optional")
            ->allow_extra_args(false);
        sign->add_option("--attach", s->attach,
                         "tag (sha256-<hex>.sig, as cosign) or referrers (OCI 1.1)")
            ->check(CLI::IsMember({"tag", "referrers"}));
        sign->add_flag("--password-stdin", s->password_stdin, "read the key's password from stdin");
        sign->add_option("image", s->image, "IMAGE[:tag] or IMAGE@digest in a registry")
            ->required();
        verbs.emplace_back(sign, [s](Context& c) {
            image::Reference ref = c.reference(s->image);
            trust::PrivateKey key = load_signing_key(s->key, s->password_stdin);
            auto registry = c.registry(ref.registry);
            trust::SignOptions options;
            options.storage = s->attach == "referrers" ? trust::SignatureStorage::referrers
                                                       : trust::SignatureStorage::tag;
            options.annotations = parse_annotations(s->annotations);
            auto result = trust::sign_image(*registry, ref, key, options);
            std::fprintf(stderr, "Signed %s (%s)\n", result.digest.str().c_str(),
                         result.docker_reference.c_str());
            return 0;
        });
    }

    if (wants("verify")) {
        CLI::App* verify = app.add_subcommand("verify", "verify an image's sigstore signatures");
        verify->add_option("--key", s->key, "public key (PEM)")->required();
        verify->add_option("--identity", s->identity,
                           "the signed reference (with tag or digest: exactly; a repository: "
                           "that repository; default: the image's repository)");
        verify->add_option("image", s->image, "IMAGE in a registry")->required();
        verbs.emplace_back(verify, [s](Context& c) {
            image::Reference ref = c.reference(s->image);
            trust::PublicKey key = trust::load_public_key(read_file(s->key), s->key);
            trust::SignedIdentity identity = trust::identity_for_verify(s->identity);
            auto registry = c.registry(ref.registry);
            trust::Verification v = trust::verify_image(*registry, ref, key, identity);
            if (v.accepted.empty()) throw Error("verify " + ref.str() + ": " + v.why_rejected());
            nlohmann::json out = nlohmann::json::array();
            for (const auto& a : v.accepted)
                out.push_back(nlohmann::json::parse(a.payload_bytes));
            emit_text(out.dump());
            std::fprintf(stderr, "Verified %zu signature(s) of %s\n", v.accepted.size(),
                         ref.str().c_str());
            return 0;
        });
    }

    if (wants("sbom")) {
        CLI::App* sbom = app.add_subcommand(
            "sbom", "the packages in an image (SPDX 2.3 or CycloneDX 1.5 JSON, or a table)");
        sbom->add_option("--format", s->format, "spdx-json, cyclonedx-json or table")
            ->check(CLI::IsMember({"spdx-json", "cyclonedx-json", "table"}));
        sbom->add_option("-o,--output", s->output, "write to FILE instead of stdout");
        sbom->add_flag("--attach", s->attach_sbom,
                       "push the SBOM to the image's registry as an OCI 1.1 referrer");
        sbom->add_flag("--from-registry", s->from_registry,
                       "print the SBOM attached in the registry instead of computing one");
        sbom->add_option("image", s->image, "image")->required();
        const std::string* root = &globals.root;  // read once parsed (--root)
        verbs.emplace_back(sbom, [s, root](Context& c) {
            namespace sb = trust::sbom;
            bool cyclonedx = s->format == "cyclonedx-json";
            std::string media_type(cyclonedx ? sb::kCycloneDxMediaType : sb::kSpdxMediaType);
            if (s->from_registry) {
                if (s->format == "table")
                    throw Error("sbom --from-registry: choose a JSON --format");
                image::Reference ref = c.reference(s->image);
                auto registry = c.registry(ref.registry);
                Digest subject = trust::attachment_subject(*registry, ref);
                auto found = trust::list_referrers(*registry, ref.repository, subject, media_type);
                if (found.empty())
                    throw Error("sbom " + ref.str() + ": no " + media_type + " SBOM attached to " +
                                subject.str());
                const auto& newest = *std::max_element(
                    found.begin(), found.end(),
                    [](const auto& a, const auto& b) { return a.created < b.created; });
                if (newest.manifest.layers.empty())
                    throw Error("sbom " + ref.str() + ": referrer " + newest.digest.str() +
                                " has no layer");
                write_output(s->output, trust::fetch_layer(*registry, ref.repository,
                                                           newest.manifest.layers.front(),
                                                           256 << 20, "SBOM of " + ref.str()));
                return 0;
            }
            image::Images images(*root);
            image::Image img = images.load(images.find(s->image, c.settings));
            sb::Catalog catalog = sb::catalog_image(images, img);
            for (const auto& notice : catalog.notices)
                log::warn(notice);
            sb::WriteOptions options;
            options.tool_version = BERTH_VERSION;
            std::string text = s->format == "table" ? sbom_table(catalog)
                               : cyclonedx          ? sb::to_cyclonedx_json(catalog, options)
                                                    : sb::to_spdx_json(catalog, options);
            if (s->attach_sbom) {
                if (s->format == "table") throw Error("sbom --attach: choose a JSON --format");
                image::Reference ref = c.reference(s->image);
                auto registry = c.registry(ref.registry);
                trust::Artifact artifact;
                artifact.artifact_type = media_type;
                artifact.media_type = media_type;
                artifact.bytes = text;
                Digest pushed = trust::push_referrer(
                    *registry, ref.repository,
                    trust::manifest_descriptor(*registry, ref.repository, img.record.id), artifact);
                std::fprintf(stderr, "Attached %s to %s@%s as %s\n", media_type.c_str(),
                             ref.name().c_str(), img.record.id.str().c_str(), pushed.str().c_str());
                if (s->output.empty()) return 0;
            }
            write_output(s->output, text);
            return 0;
        });
    }

    TrustGlobals g = globals;
    return [verbs, g]() -> int {
        for (const auto& [cmd, action] : verbs) {
            if (!cmd->parsed()) continue;
            try {
                Context context(g);
                return action(context);
            } catch (const std::exception& e) {
                log::error(e.what());
                return 1;
            }
        }
        return -1;
    };
}

}  // namespace berth::cli
