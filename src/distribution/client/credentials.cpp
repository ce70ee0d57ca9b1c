#include "distribution/client/credentials.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/json_reader.hpp"
#include "common/path.hpp"
#include "distribution/client/http.hpp"

namespace berth::distribution {
namespace {

std::string home() {
    const char* h = std::getenv("HOME");
    return h && *h ? h : "/root";
}

nlohmann::json read_config(const std::string& path) {
    auto text = read_file_if_exists(path);
    if (!text || text->empty()) return nlohmann::json::object();
    nlohmann::json doc = parse_json(*text, path);
    if (!doc.is_object()) throw Error(path + ": expected a JSON object");
    return doc;
}

std::optional<Credentials> lookup(const nlohmann::json& doc, const std::string& registry,
                                  const std::string& path) {
    auto auths = doc.find("auths");
    if (auths == doc.end() || !auths->is_object()) return std::nullopt;
    for (const auto& key : credential_keys(registry)) {
        auto entry = auths->find(key);
        if (entry == auths->end() || !entry->is_object()) continue;
        Credentials c;
        if (auto a = entry->find("auth"); a != entry->end() && a->is_string()) {
            auto decoded = base64_decode(a->get<std::string>());
            size_t colon = decoded ? decoded->find(':') : std::string::npos;
            if (colon == std::string::npos)
                throw Error(std::string(path)
                                .append(": auths.")
                                .append(key)
                                .append(".auth: not base64 of \"user:password\""));
            c.username = decoded->substr(0, colon);
            c.password = decoded->substr(colon + 1);
        }
        if (auto t = entry->find("identitytoken"); t != entry->end() && t->is_string())
            c.identity_token = *t;
        if (c.username.empty() && c.identity_token.empty()) continue;
        return c;
    }
    return std::nullopt;
}

}  // namespace

std::string default_auth_file() {
    if (const char* env = std::getenv("BERTH_AUTH_FILE"); env && *env) return env;
    if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg)
        return std::string(xdg) + "/berth/auth.json";
    return home() + "/.config/berth/auth.json";
}

std::vector<std::string> credential_keys(const std::string& registry) {
    if (registry == "docker.io" || registry == "index.docker.io" ||
        registry == "registry-1.docker.io")
        return {"https://index.docker.io/v1/", "index.docker.io", "docker.io",
                "registry-1.docker.io"};
    return {registry, "https://" + registry, "http://" + registry, "https://" + registry + "/v2/"};
}

CredentialStore::CredentialStore(std::string path, bool read_docker)
    : path_(path.empty() ? default_auth_file() : std::move(path)), read_docker_(read_docker) {}

std::optional<Credentials> CredentialStore::get(const std::string& registry) const {
    if (auto c = lookup(read_config(path_), registry, path_)) return c;
    if (read_docker_) {
        std::string docker = home() + "/.docker/config.json";
        if (const char* dir = std::getenv("DOCKER_CONFIG"); dir && *dir)
            docker = std::string(dir) + "/config.json";
        if (docker != path_) return lookup(read_config(docker), registry, docker);
    }
    return std::nullopt;
}

void CredentialStore::set(const std::string& registry, const Credentials& credentials) {
    nlohmann::json doc = read_config(path_);
    if (!doc.contains("auths") || !doc["auths"].is_object())
        doc["auths"] = nlohmann::json::object();
    std::string key = credential_keys(registry).front();
    nlohmann::json entry = nlohmann::json::object();
    if (!credentials.username.empty())
        entry["auth"] = base64_encode(credentials.username + ":" + credentials.password);
    if (!credentials.identity_token.empty()) entry["identitytoken"] = credentials.identity_token;
    doc["auths"][key] = entry;
    std::string dir = parent_path(path_);
    for (const auto& d : {parent_path(dir), dir})
        if (::mkdir(d.c_str(), 0700) < 0 && errno != EEXIST) throw_errno("mkdir", d);
    write_file_atomic(path_, doc.dump(1, '\t') + "\n", 0600);
}

bool CredentialStore::erase(const std::string& registry) {
    nlohmann::json doc = read_config(path_);
    if (!doc.contains("auths") || !doc["auths"].is_object()) return false;
    bool removed = false;
    for (const auto& key : credential_keys(registry))
        removed = doc["auths"].erase(key) > 0 || removed;
    if (removed) write_file_atomic(path_, doc.dump(1, '\t') + "\n", 0600);
    return removed;
}

}  // namespace berth::distribution
