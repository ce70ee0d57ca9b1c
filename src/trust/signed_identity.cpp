#include "trust/signed_identity.hpp"

#include <set>

namespace berth::trust {
namespace {

void identity_only_fields(const JsonReader& r, const std::set<std::string>& allowed) {
    for (const auto& [key, value] : r.as_object())
        if (!allowed.count(key)) value.fail("unknown field");
}

// A fully qualified reference text (registry included), as policy fields must be.
image::Reference qualified(const JsonReader& field, bool need_tag_or_digest) {
    std::string text = field.as_string();
    image::ParsedReference parsed;
    try {
        parsed = image::parse_reference(text);
    } catch (const image::InvalidReference& e) {
        field.fail(e.what());
    }
    if (parsed.short_name) field.fail("\"" + text + "\" must name its registry");
    if (need_tag_or_digest && parsed.reference.tag.empty() && !parsed.reference.digest)
        field.fail("\"" + text + "\" must have a tag or a digest");
    if (!need_tag_or_digest && (!parsed.reference.tag.empty() || parsed.reference.digest))
        field.fail("\"" + text + "\" must be a repository, without tag or digest");
    return parsed.reference;
}

bool prefix_matches(const std::string& name, const std::string& prefix) {
    if (!name.starts_with(prefix)) return false;
    return name.size() == prefix.size() || prefix.ends_with('/') || name[prefix.size()] == '/';
}

bool repo_digest_or_exact(const image::Reference& image, const image::Reference& s) {
    if (image.digest) return image.name() == s.name();
    if (!image.tag.empty()) return image.str() == s.str();
    return false;
}

}  // namespace

image::Reference parse_signed_reference(const std::string& text) {
    return image::parse_reference(text).reference;
}

bool SignedIdentity::matches(const image::Reference& image, const image::Reference& s) const {
    switch (type) {
        case Type::match_exact:
            return (!image.tag.empty() || image.digest) && image.str() == s.str();
        case Type::match_repo_digest_or_exact:
            return repo_digest_or_exact(image, s);
        case Type::match_repository:
            return image.name() == s.name();
        case Type::exact_reference:
            return parse_signed_reference(docker_reference).str() == s.str();
        case Type::exact_repository:
            return parse_signed_reference(docker_repository).name() == s.name();
        case Type::remap_identity: {
            std::string name = image.name();
            if (!prefix_matches(name, prefix)) return repo_digest_or_exact(image, s);
            image::Reference remapped = image;
            std::string rewritten = signed_prefix + name.substr(prefix.size());
            image::Reference parsed = parse_signed_reference(rewritten);
            remapped.registry = parsed.registry;
            remapped.repository = parsed.repository;
            return repo_digest_or_exact(remapped, s);
        }
    }
    return false;
}

std::string SignedIdentity::describe() const {
    switch (type) {
        case Type::match_exact:
            return "matchExact";
        case Type::match_repo_digest_or_exact:
            return "matchRepoDigestOrExact";
        case Type::match_repository:
            return "matchRepository";
        case Type::exact_reference:
            return "exactReference " + docker_reference;
        case Type::exact_repository:
            return "exactRepository " + docker_repository;
        case Type::remap_identity:
            return "remapIdentity " + prefix + " -> " + signed_prefix;
    }
    return "?";
}

SignedIdentity parse_signed_identity(const JsonReader& r) {
    r.require_object();
    SignedIdentity id;
    std::string type = r.at("type").as_string();
    if (type == "matchExact") {
        id.type = SignedIdentity::Type::match_exact;
        identity_only_fields(r, {"type"});
    } else if (type == "matchRepoDigestOrExact") {
        id.type = SignedIdentity::Type::match_repo_digest_or_exact;
        identity_only_fields(r, {"type"});
    } else if (type == "matchRepository") {
        id.type = SignedIdentity::Type::match_repository;
        identity_only_fields(r, {"type"});
    } else if (type == "exactReference") {
        id.type = SignedIdentity::Type::exact_reference;
        identity_only_fields(r, {"type", "dockerReference"});
        id.docker_reference = qualified(r.at("dockerReference"), true).str();
    } else if (type == "exactRepository") {
        id.type = SignedIdentity::Type::exact_repository;
        identity_only_fields(r, {"type", "dockerRepository"});
        id.docker_repository = qualified(r.at("dockerRepository"), false).name();
    } else if (type == "remapIdentity") {
        id.type = SignedIdentity::Type::remap_identity;
        identity_only_fields(r, {"type", "prefix", "signedPrefix"});
        id.prefix = r.at("prefix").as_string();
        id.signed_prefix = r.at("signedPrefix").as_string();
        if (id.prefix.empty()) r.at("prefix").fail("must not be empty");
        if (id.signed_prefix.empty()) r.at("signedPrefix").fail("must not be empty");
    } else {
        r.at("type").fail("unknown signedIdentity type \"" + type + "\"");
    }
    return id;
}

}  // namespace berth::trust
