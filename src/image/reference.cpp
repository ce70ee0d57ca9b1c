#include "image/reference.hpp"

#include <algorithm>
#include <cctype>

namespace berth::image {
namespace {

constexpr size_t kMaxNameLength = 255;
constexpr size_t kMaxTagLength = 128;

[[noreturn]] void invalid(std::string_view text, const std::string& why) {
    throw InvalidReference("invalid reference \"" + std::string(text) + "\": " + why);
}

bool is_lower_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [_.] | __ | [-]+
bool valid_path_component(std::string_view c) {
    if (c.empty() || !is_lower_alnum(c.front()) || !is_lower_alnum(c.back())) return false;
    size_t i = 0;
    while (i < c.size()) {
        if (is_lower_alnum(c[i])) {
            ++i;
            continue;
        }
        size_t j = i;
        while (j < c.size() && !is_lower_alnum(c[j]))
            ++j;
        std::string_view sep = c.substr(i, j - i);
        bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
        if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
        i = j;
    }
    return true;
}

// domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool valid_domain_component(std::string_view c) {
    if (c.empty()) return false;
    auto alnum = [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) != 0; };
    if (!alnum(c.front()) || !alnum(c.back())) return false;
    for (char ch : c)
        if (!alnum(ch) && ch != '-') return false;
    return true;
}

bool valid_port(std::string_view port) {
    if (port.empty() || port.size() > 5) return false;
    for (char c : port)
        if (c < '0' || c > '9') return false;
    return true;
}

// host[:port] where host is a domain name, an IPv4 address or a bracketed IPv6 address.
bool valid_registry(std::string_view r) {
    std::string_view host = r, port;
    if (r.starts_with('[')) {
        size_t close = r.find(']');
        if (close == std::string_view::npos) return false;
        std::string_view inside = r.substr(1, close - 1);
        if (inside.empty()) return false;
        for (char c : inside)
            if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
        std::string_view rest = r.substr(close + 1);
        if (rest.empty()) return true;
        if (rest.front() != ':') return false;
        return valid_port(rest.substr(1));
    }
    if (size_t colon = r.rfind(':'); colon != std::string_view::npos) {
        host = r.substr(0, colon);
        port = r.substr(colon + 1);
        if (!valid_port(port)) return false;
    }
    if (host.empty()) return false;
    size_t i = 0;
    while (i <= host.size()) {
        size_t j = host.find('.', i);
        if (j == std::string_view::npos) j = host.size();
        if (!valid_domain_component(host.substr(i, j - i))) return false;
        i = j + 1;
    }
    return true;
}

bool valid_tag(std::string_view tag) {
    if (tag.empty() || tag.size() > kMaxTagLength) return false;
    auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    if (!word(tag.front())) return false;
    for (char c : tag)
        if (!word(c) && c != '.' && c != '-') return false;
    return true;
}

bool looks_like_registry(std::string_view first) {
    return first.find_first_of(".:") != std::string_view::npos || first == "localhost" ||
           first.starts_with('[') ||
           std::any_of(first.begin(), first.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

}  // namespace

std::string Reference::name() const {
    return registry + "/" + repository;
}

std::string Reference::str() const {
    std::string out = name();
    if (!tag.empty()) out += ":" + tag;
    if (digest) out += "@" + digest->str();
    return out;
}

std::string Reference::tag_or_latest() const {
    return tag.empty() ? "latest" : tag;
}

std::string Reference::manifest_reference() const {
    return digest ? digest->str() : tag_or_latest();
}

std::string Reference::endpoint_host() const {
    return registry == kDockerHub ? "registry-1.docker.io" : registry;
}

ParsedReference parse_reference(std::string_view text, std::string_view default_registry) {
    if (text.empty()) invalid(text, "empty");
    // 64 hex digits name an image ID, not a repository: docker refuses them as a name so that
    // the two can never be confused (with a tag or a registry they are a name).
    if (text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
            return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        }))
        throw InvalidReference("invalid repository name (" + std::string(text) +
                               "), cannot specify 64-byte hexadecimal strings");
    if (text.find_first_of(" \t\n\r") != std::string_view::npos) invalid(text, "contains spaces");
    ParsedReference parsed;
    Reference& ref = parsed.reference;
    std::string_view rest = text;

    if (size_t at = rest.find('@'); at != std::string_view::npos) {
        try {
            ref.digest = Digest::parse(rest.substr(at + 1));
        } catch (const InvalidDigest& e) {
            invalid(text, e.what());
        }
        rest = rest.substr(0, at);
    }
    // A tag is after the last ':' that follows the last '/' (a registry port comes before).
    size_t slash = rest.rfind('/');
    size_t colon = rest.rfind(':');
    if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
        ref.tag = rest.substr(colon + 1);
        if (!valid_tag(ref.tag))
            invalid(text, "tag \"" + ref.tag +
                              "\" must be 1-128 of [A-Za-z0-9_.-], not starting with . or -");
        rest = rest.substr(0, colon);
    }
    if (rest.empty()) invalid(text, "no repository name");

    size_t first_slash = rest.find('/');
    std::string_view first = rest.substr(0, first_slash);
    std::string_view path = rest;
    if (first_slash != std::string_view::npos && looks_like_registry(first)) {
        if (!valid_registry(first))
            invalid(text, "invalid registry \"" + std::string(first) + "\"");
        ref.registry = first;
        if (ref.registry == "index.docker.io") ref.registry = kDockerHub;
        path = rest.substr(first_slash + 1);
    } else {
        parsed.short_name = true;
        ref.registry = default_registry;
    }
    if (path.empty()) invalid(text, "no repository name");
    size_t i = 0;
    while (i <= path.size()) {
        size_t j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        std::string_view component = path.substr(i, j - i);
        if (!valid_path_component(component)) {
            bool upper = std::any_of(component.begin(), component.end(),
                                     [](char c) { return c >= 'A' && c <= 'Z'; });
            invalid(text,
                    upper ? "repository names must be lowercase"
                          : "invalid repository name component \"" + std::string(component) + "\"");
        }
        i = j + 1;
    }
    ref.repository = path;
    if (ref.registry == kDockerHub && ref.repository.find('/') == std::string::npos)
        ref.repository = "library/" + ref.repository;
    if (ref.name().size() > kMaxNameLength)
        invalid(text, "name longer than " + std::to_string(kMaxNameLength) + " characters");
    return parsed;
}

Reference parse_normalized(std::string_view text, std::string_view default_registry) {
    Reference ref = parse_reference(text, default_registry).reference;
    if (ref.tag.empty() && !ref.digest) ref.tag = "latest";
    return ref;
}

bool is_loopback_registry(std::string_view registry) {
    std::string_view host = registry;
    if (host.starts_with('[')) {
        host = host.substr(1, host.find(']') - 1);
        return host == "::1";
    }
    host = host.substr(0, host.find(':'));
    return host == "localhost" || host.ends_with(".localhost") || host.starts_with("127.");
}

}  // namespace berth::image
