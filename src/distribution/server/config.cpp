#include "distribution/server/config.hpp"

#include <toml++/toml.h>

#include "common/error.hpp"
#include "common/file.hpp"

namespace berth::registry {
namespace {

[[noreturn]] void bad(const std::string& source, const std::string& key, const std::string& why) {
    throw Error(source + ": " + key + ": " + why);
}

std::string string_of(const toml::node& node, const std::string& source, const std::string& key) {
    auto value = node.value<std::string>();
    if (!value) bad(source, key, "expected a string");
    return *value;
}

bool bool_of(const toml::node& node, const std::string& source, const std::string& key) {
    auto value = node.value<bool>();
    if (!value) bad(source, key, "expected true or false");
    return *value;
}

int64_t int_of(const toml::node& node, const std::string& source, const std::string& key) {
    auto value = node.value<int64_t>();
    if (!value || *value < 0) bad(source, key, "expected a non-negative integer");
    return *value;
}

AccessRule parse_rule(const toml::table& table, const std::string& source, const std::string& key) {
    AccessRule rule;
    for (const auto& [k, v] : table) {
        const std::string name = key + "." + std::string(k.str());
        if (k == "user") {
            rule.user = string_of(v, source, name);
        } else if (k == "repository") {
            rule.repository = string_of(v, source, name);
        } else if (k == "actions") {
            const toml::array* array = v.as_array();
            if (!array) bad(source, name, "expected an array of strings");
            for (const auto& item : *array) {
                try {
                    rule.actions.push_back(parse_action(string_of(item, source, name)));
                } catch (const Error& e) {
                    bad(source, name, e.what());
                }
            }
        } else {
            bad(source, name, "unknown key");
        }
    }
    return rule;
}

void parse_auth(const toml::table& table, const std::string& source, AuthConfig& auth) {
    for (const auto& [k, v] : table) {
        const std::string key = "auth." + std::string(k.str());
        if (k == "htpasswd") {
            auth.htpasswd = string_of(v, source, key);
        } else if (k == "anonymous-read") {
            auth.anonymous_read = bool_of(v, source, key);
        } else if (k == "token") {
            const std::string mode = string_of(v, source, key);
            if (mode == "builtin")
                auth.token = TokenMode::builtin;
            else if (mode == "external")
                auth.token = TokenMode::external;
            else if (mode == "none" || mode.empty())
                auth.token = TokenMode::none;
            else
                bad(source, key, "expected \"builtin\", \"external\" or \"none\"");
        } else if (k == "token-realm") {
            auth.token_realm = string_of(v, source, key);
        } else if (k == "token-key") {
            auth.token_key = string_of(v, source, key);
        } else if (k == "token-public-key") {
            auth.token_public_key = string_of(v, source, key);
        } else if (k == "token-issuer") {
            auth.token_issuer = string_of(v, source, key);
        } else if (k == "token-service") {
            auth.token_service = string_of(v, source, key);
        } else if (k == "token-expiry") {
            auth.token_expiry = std::chrono::seconds(int_of(v, source, key));
        } else if (k == "access") {
            const toml::array* rules = v.as_array();
            if (!rules) bad(source, key, "expected [[auth.access]] tables");
            for (const auto& item : *rules) {
                const toml::table* rule = item.as_table();
                if (!rule) bad(source, key, "expected [[auth.access]] tables");
                auth.access.push_back(parse_rule(*rule, source, key));
            }
        } else {
            bad(source, key, "unknown key");
        }
    }
}

void parse_proxy(const toml::table& table, const std::string& source, ProxyConfig& proxy) {
    for (const auto& [k, v] : table) {
        const std::string key = "proxy." + std::string(k.str());
        if (k == "upstream")
            proxy.upstream = string_of(v, source, key);
        else if (k == "username")
            proxy.username = string_of(v, source, key);
        else if (k == "password")
            proxy.password = string_of(v, source, key);
        else if (k == "ttl")
            proxy.ttl = std::chrono::seconds(int_of(v, source, key));
        else
            bad(source, key, "unknown key");
    }
}

}  // namespace

Action parse_action(const std::string& text) {
    if (text == "pull") return Action::pull;
    if (text == "push") return Action::push;
    if (text == "delete") return Action::del;
    throw Error("unknown action \"" + text + "\" (expected pull, push or delete)");
}

std::string_view action_name(Action action) {
    switch (action) {
        case Action::pull:
            return "pull";
        case Action::push:
            return "push";
        case Action::del:
            return "delete";
    }
    return "";
}

void load_config_file(const std::string& path, RegistryConfig& config) {
    toml::table doc;
    try {
        doc = toml::parse(read_file(path), path);
    } catch (const toml::parse_error& e) {
        throw Error(path + ":" + std::to_string(e.source().begin.line) + ": " +
                    std::string(e.description()));
    }
    for (const auto& [k, v] : doc) {
        const std::string key(k.str());
        if (key == "addr")
            config.addr = string_of(v, path, key);
        else if (key == "root")
            config.root = string_of(v, path, key);
        else if (key == "plain-http")
            config.plain_http = bool_of(v, path, key);
        else if (key == "tls-cert")
            config.tls_cert = string_of(v, path, key);
        else if (key == "tls-key")
            config.tls_key = string_of(v, path, key);
        else if (key == "delete")
            config.delete_enabled = bool_of(v, path, key);
        else if (key == "upload-expiry")
            config.upload_expiry = std::chrono::seconds(int_of(v, path, key));
        else if (key == "read-timeout")
            config.read_timeout = std::chrono::seconds(int_of(v, path, key));
        else if (key == "write-timeout")
            config.write_timeout = std::chrono::seconds(int_of(v, path, key));
        else if (key == "shutdown-grace")
            config.shutdown_grace = std::chrono::seconds(int_of(v, path, key));
        else if (key == "max-manifest-size")
            config.max_manifest_size = static_cast<uint64_t>(int_of(v, path, key));
        else if (key == "max-body-size")
            config.max_body_size = static_cast<uint64_t>(int_of(v, path, key));
        else if (key == "max-connections")
            config.max_connections = static_cast<size_t>(int_of(v, path, key));
        else if (key == "threads")
            config.threads = static_cast<unsigned>(int_of(v, path, key));
        else if (key == "access-log")
            config.access_log = bool_of(v, path, key);
        else if (key == "auth") {
            const toml::table* table = v.as_table();
            if (!table) bad(path, key, "expected a table");
            parse_auth(*table, path, config.auth);
        } else if (key == "proxy") {
            const toml::table* table = v.as_table();
            if (!table) bad(path, key, "expected a table");
            parse_proxy(*table, path, config.proxy);
        } else {
            bad(path, key, "unknown key");
        }
    }
}

}  // namespace berth::registry
