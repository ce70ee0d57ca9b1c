#include "trust/sbom/identifiers.hpp"

#include <cctype>

#include "common/strings.hpp"

namespace berth::trust::sbom {
namespace {

std::string cpe_escape(std::string_view text) {
    std::string out;
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) || c == '_' || c == '-' || c == '.') {
            out += static_cast<char>(std::tolower(u));
        } else if (c == ' ') {
            out += '_';
        } else {
            out += '\\';
            out += c;
        }
    }
    return out;
}

}  // namespace

std::string purl_encode(std::string_view text) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) || c == '.' || c == '-' || c == '_' || c == '~') {
            out += c;
        } else {
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 15];
        }
    }
    return out;
}

std::string make_purl(std::string_view type, std::string_view ns, std::string_view name,
                      std::string_view version,
                      const std::map<std::string, std::string>& qualifiers) {
    std::string out = "pkg:" + std::string(type) + "/";
    if (!ns.empty()) {
        for (const auto& part : split(ns, '/'))
            if (!part.empty()) out += purl_encode(part) + "/";
    }
    out += purl_encode(name);
    if (!version.empty()) out += "@" + purl_encode(version);
    char separator = '?';
    for (const auto& [key, value] : qualifiers) {
        if (value.empty()) continue;
        out += separator + key + "=" + purl_encode(value);
        separator = '&';
    }
    return out;
}

std::string make_cpe(const Package& p) {
    if (p.name.empty() || p.version.empty()) return {};
    std::string product = p.name;
    std::string vendor = p.name;
    if (p.type == "golang") {
        auto parts = split(p.name, '/');
        if (parts.size() >= 3 && (parts[0] == "github.com" || parts[0] == "gitlab.com")) {
            vendor = parts[1];
            product = parts[2];
        } else {
            product = parts.back();
            vendor = parts.size() > 1 ? parts[parts.size() - 2] : product;
        }
    } else if (p.type == "npm" && product.starts_with('@')) {
        auto slash = product.find('/');
        vendor = product.substr(1, slash - 1);
        product = product.substr(slash + 1);
    }
    std::string version = p.version;
    if (p.type == "golang" && version.starts_with('v')) version = version.substr(1);
    return "cpe:2.3:a:" + cpe_escape(vendor) + ":" + cpe_escape(product) + ":" +
           cpe_escape(version) + ":*:*:*:*:*:*:*";
}

}  // namespace berth::trust::sbom
