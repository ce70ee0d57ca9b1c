#include "trust/policy.hpp"

#include <cctype>
#include <set>

#include "common/file.hpp"
#include "distribution/client/http.hpp"

namespace berth::trust {
namespace {

const std::set<std::string> kKnownTransports = {"docker", "atomic",         "containers-storage",
                                                "dir",    "docker-archive", "docker-daemon",
                                                "oci",    "oci-archive",    "ostree",
                                                "sif",    "tarball"};

void policy_only_fields(const JsonReader& r, const std::set<std::string>& allowed) {
    for (const auto& [key, value] : r.as_object())
        if (!allowed.count(key)) value.fail("unknown field");
}

PolicyRequirement parse_requirement(const JsonReader& r, const std::string& base_dir) {
    r.require_object();
    PolicyRequirement req;
    req.field = r.path();
    std::string type = r.at("type").as_string();
    if (type == "insecureAcceptAnything") {
        req.type = PolicyRequirement::Type::insecure_accept_anything;
        policy_only_fields(r, {"type"});
    } else if (type == "reject") {
        req.type = PolicyRequirement::Type::reject;
        policy_only_fields(r, {"type"});
    } else if (type == "signedBy") {
        req.type = PolicyRequirement::Type::signed_by;
        policy_only_fields(r,
                           {"type", "keyType", "keyPath", "keyPaths", "keyData", "signedIdentity"});
        if (auto id = r.find("signedIdentity")) req.identity = parse_signed_identity(*id);
    } else if (type == "sigstoreSigned") {
        req.type = PolicyRequirement::Type::sigstore_signed;
        policy_only_fields(r, {"type", "keyPath", "keyPaths", "keyData", "keyDatas", "fulcio",
                               "rekorPublicKeyPath", "rekorPublicKeyData", "signedIdentity"});
        int sources = 0;
        auto add_path = [&](const JsonReader& field) {
            std::string path = field.as_string();
            if (path.empty()) field.fail("must not be empty");
            req.key_paths.push_back(path.starts_with('/') ? path : base_dir + "/" + path);
        };
        auto add_data = [&](const JsonReader& field) {
            auto decoded = distribution::base64_decode(field.as_string());
            if (!decoded || decoded->empty()) field.fail("not valid base64");
            req.key_datas.push_back(*decoded);
        };
        if (auto path = r.find("keyPath")) {
            add_path(*path);
            ++sources;
        }
        if (auto paths = r.find("keyPaths")) {
            for (const auto& item : paths->as_array())
                add_path(item);
            if (paths->as_array().empty()) paths->fail("must list at least one key");
            ++sources;
        }
        if (auto data = r.find("keyData")) {
            add_data(*data);
            ++sources;
        }
        if (auto datas = r.find("keyDatas")) {
            for (const auto& item : datas->as_array())
                add_data(item);
            if (datas->as_array().empty()) datas->fail("must list at least one key");
            ++sources;
        }
        if (r.has("fulcio")) {
            req.fulcio = true;
            ++sources;
        }
        if (sources == 0) r.fail("sigstoreSigned needs keyPath, keyData or fulcio");
        if (sources > 1)
            r.fail("sigstoreSigned takes one of keyPath, keyPaths, keyData, keyDatas and fulcio");
        if (auto id = r.find("signedIdentity")) req.identity = parse_signed_identity(*id);
    } else if (type == "signedBaseLayer") {
        r.at("type").fail("signedBaseLayer is not supported");
    } else {
        r.at("type").fail("unknown requirement type \"" + type + "\"");
    }
    return req;
}

std::vector<PolicyRequirement> parse_requirements(const JsonReader& r,
                                                  const std::string& base_dir) {
    std::vector<PolicyRequirement> out;
    for (const auto& item : r.as_array())
        out.push_back(parse_requirement(item, base_dir));
    if (out.empty()) r.fail("must list at least one requirement");
    return out;
}

bool valid_host(const std::string& host) {
    if (host.empty()) return false;
    std::string name = host;
    if (auto colon = name.rfind(':'); colon != std::string::npos && name.front() != '[') {
        std::string port = name.substr(colon + 1);
        if (port.empty() || port.size() > 5 ||
            port.find_first_not_of("0123456789") != std::string::npos)
            return false;
        name = name.substr(0, colon);
    }
    if (name.empty()) return false;
    if (name.front() == '[') return name.back() == ']' || name.find("]:") != std::string::npos;
    for (char c : name)
        if (!(std::islower(static_cast<unsigned char>(c)) ||
              std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-'))
            return false;
    return name.front() != '.' && name.back() != '.' && name.front() != '-';
}

}  // namespace

void validate_docker_scope(const std::string& scope) {
    if (scope.empty()) return;
    if (scope.starts_with("*.")) {
        if (!valid_host(scope.substr(2)) || scope.find(':') != std::string::npos ||
            scope.find('/') != std::string::npos)
            throw Error("a wildcard scope is \"*.\" followed by a domain name");
        return;
    }
    if (scope.find('/') == std::string::npos) {
        if (!valid_host(scope)) throw Error("not a registry host[:port], repository or reference");
        return;
    }
    image::ParsedReference parsed;
    try {
        parsed = image::parse_reference(scope);
    } catch (const image::InvalidReference& e) {
        throw Error(e.what());
    }
    if (parsed.short_name) throw Error("a scope must name its registry (e.g. docker.io/library/x)");
    // The grammar normalizes nothing here: what was written must be what it means.
    std::string canonical = parsed.reference.str();
    if (canonical != scope && parsed.reference.name() != scope)
        throw Error("not in canonical form (\"" + canonical + "\")");
}

Policy Policy::accept_anything(const std::string& source) {
    Policy p;
    p.source_ = source;
    PolicyRequirement r;
    r.type = PolicyRequirement::Type::insecure_accept_anything;
    r.field = "default[0]";
    p.default_.push_back(r);
    return p;
}

Policy Policy::load(const std::string& path) {
    std::string text;
    try {
        text = read_file(path);
    } catch (const Error& e) {
        throw PolicyError(std::string("signature policy: ") + e.what());
    }
    return parse(text, path);
}

Policy Policy::parse(const std::string& text, const std::string& source) {
    Policy p;
    p.source_ = source;
    std::string base_dir = ".";
    if (auto slash = source.rfind('/'); slash != std::string::npos)
        base_dir = slash == 0 ? "/" : source.substr(0, slash);
    try {
        nlohmann::json doc = parse_json(text, source);
        JsonReader r(doc, "");
        r.require_object();
        for (const auto& [key, value] : r.as_object())
            if (key != "default" && key != "transports") value.fail("unknown field");
        p.default_ = parse_requirements(r.at("default"), base_dir);
        if (auto transports = r.find("transports")) {
            for (const auto& [name, scopes] : transports->as_object()) {
                if (!kKnownTransports.count(name))
                    scopes.fail("unknown transport \"" + name + "\"");
                for (const auto& [scope, requirements] : scopes.as_object()) {
                    auto reqs = parse_requirements(requirements, base_dir);
                    if (name != "docker") continue;
                    try {
                        validate_docker_scope(scope);
                    } catch (const Error& e) {
                        throw PolicyError(source + ": transports.docker: bad scope \"" + scope +
                                          "\": " + e.what());
                    }
                    p.docker_.emplace_back(scope, std::move(reqs));
                }
            }
        }
    } catch (const InvalidDocument& e) {
        std::string message = e.what();
        // JsonReader paths start with "." at the top: "file: .default[0].type: why".
        if (message.starts_with(".")) message = message.substr(1);
        if (message.starts_with(source)) throw PolicyError(message);
        throw PolicyError(source + ": " + message);
    }
    return p;
}

std::vector<std::string> docker_scope_candidates(const image::Reference& ref) {
    std::vector<std::string> out;
    std::string name = ref.name();
    if (ref.digest) out.push_back(name + "@" + ref.digest->str());
    if (!ref.tag.empty()) out.push_back(name + ":" + ref.tag);
    // registry/a/b/c, registry/a/b, registry/a, registry
    std::string current = name;
    while (true) {
        out.push_back(current);
        auto slash = current.rfind('/');
        if (slash == std::string::npos) break;
        current = current.substr(0, slash);
    }
    // *.b.example.com, *.example.com, *.com for host a.b.example.com
    std::string host = ref.registry;
    if (auto colon = host.rfind(':'); colon != std::string::npos && host.front() != '[')
        host = host.substr(0, colon);
    for (auto dot = host.find('.'); dot != std::string::npos; dot = host.find('.', dot + 1))
        out.push_back("*" + host.substr(dot));
    return out;
}

PolicyScope Policy::scope_for(const image::Reference& ref) const {
    for (const auto& candidate : docker_scope_candidates(ref))
        for (const auto& [scope, reqs] : docker_)
            if (scope == candidate) return {"docker \"" + scope + "\"", &reqs};
    for (const auto& [scope, reqs] : docker_)
        if (scope.empty()) return {"docker \"\"", &reqs};
    return {"default", &default_};
}

}  // namespace berth::trust
