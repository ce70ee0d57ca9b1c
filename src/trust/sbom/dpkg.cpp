// dpkg: /var/lib/dpkg/status (a stanza per package), and distroless's
// /var/lib/dpkg/status.d/<package> (one stanza per file, no Status field).
#include <map>

#include "common/strings.hpp"
#include "trust/sbom/identifiers.hpp"
#include "trust/sbom/readers.hpp"

namespace berth::trust::sbom {
namespace {

using Stanza = std::vector<std::pair<std::string, std::string>>;

std::vector<Stanza> parse_stanzas(std::string_view text) {
    std::vector<Stanza> out;
    Stanza current;
    for (const auto& raw : split(text, '\n')) {
        std::string_view line = raw;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) {
            if (!current.empty()) out.push_back(std::move(current));
            current.clear();
            continue;
        }
        if (line.front() == ' ' || line.front() == '\t') {
            if (!current.empty()) current.back().second += "\n" + std::string(line);
            continue;
        }
        auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        current.emplace_back(std::string(line.substr(0, colon)),
                             std::string(trim(line.substr(colon + 1))));
    }
    if (!current.empty()) out.push_back(std::move(current));
    return out;
}

std::string field(const Stanza& s, std::string_view name) {
    for (const auto& [k, v] : s)
        if (k == name) return v;
    return {};
}

// The installed states dpkg-query -W lists (not "not-installed" nor "config-files").
bool installed(const std::string& status) {
    if (status.empty()) return true;  // status.d has none: installed by definition
    auto words = split(status, ' ');
    if (words.size() != 3) return false;
    return words[2] != "not-installed" && words[2] != "config-files";
}

}  // namespace

std::vector<Package> parse_dpkg_status(std::string_view text, const OsRelease& os,
                                       const std::string& found_in) {
    std::vector<Package> out;
    for (const auto& s : parse_stanzas(text)) {
        std::string name = field(s, "Package");
        if (name.empty() || !installed(field(s, "Status"))) continue;
        Package p;
        p.type = "deb";
        p.name = name;
        p.version = field(s, "Version");
        p.architecture = field(s, "Architecture");
        p.supplier = field(s, "Maintainer");
        p.found_in = found_in;
        std::string source = field(s, "Source");
        if (!source.empty()) {
            // "name (version)" when the source version differs from the binary's
            auto paren = source.find(" (");
            if (paren != std::string::npos && source.back() == ')') {
                p.source_version = source.substr(paren + 2, source.size() - paren - 3);
                source = source.substr(0, paren);
            }
            p.source_name = source;
        }
        std::map<std::string, std::string> q{{"arch", p.architecture}};
        if (!os.id.empty())
            q["distro"] = os.id + (os.version_id.empty() ? "" : "-" + os.version_id);
        if (!p.source_name.empty() && p.source_name != p.name)
            q["upstream"] =
                p.source_name + (p.source_version.empty() ? "" : "@" + p.source_version);
        p.purl = make_purl("deb", os.id.empty() ? "debian" : os.id, p.name, p.version, q);
        out.push_back(std::move(p));
    }
    return out;
}

void read_dpkg(const ReaderContext& ctx) {
    const std::string status = "var/lib/dpkg/status";
    read_layered_database(ctx, status, [&](size_t layer) {
        std::string path = ctx.tree.layer_root(layer) + "/" + status;
        TreeEntry e;
        e.path = status;
        e.layer = layer;
        ::stat(path.c_str(), &e.st);
        return parse_dpkg_status(ctx.tree.read(e), ctx.os, "/" + status);
    });
    // distroless: one file per package, each attributed to the layer that shows it.
    for (const auto& entry : ctx.tree.list("var/lib/dpkg/status.d")) {
        if (!S_ISREG(entry.st.st_mode) || entry.path.ends_with(".md5sums")) continue;
        for (auto& p : parse_dpkg_status(ctx.tree.read(entry), ctx.os, "/" + entry.path)) {
            p.layer_index = entry.layer;
            ctx.add(std::move(p));
        }
    }
}

}  // namespace berth::trust::sbom
