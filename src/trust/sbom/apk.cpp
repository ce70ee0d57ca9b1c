// apk: /lib/apk/db/installed, a block of "X:value" lines per package (P name, V version,
// A architecture, L license, o origin, m maintainer).
#include <map>

#include "common/strings.hpp"
#include "trust/sbom/identifiers.hpp"
#include "trust/sbom/readers.hpp"

namespace berth::trust::sbom {

std::vector<Package> parse_apk_installed(std::string_view text, const OsRelease& os) {
    std::vector<Package> out;
    Package current;
    auto finish = [&] {
        if (!current.name.empty()) {
            current.type = "apk";
            current.found_in = "/lib/apk/db/installed";
            std::map<std::string, std::string> q{{"arch", current.architecture}};
            if (!os.id.empty())
                q["distro"] = os.id + (os.version_id.empty() ? "" : "-" + os.version_id);
            if (!current.source_name.empty() && current.source_name != current.name)
                q["upstream"] = current.source_name;
            current.purl = make_purl("apk", os.id.empty() ? "alpine" : os.id, current.name,
                                     current.version, q);
            out.push_back(std::move(current));
        }
        current = Package{};
    };
    for (const auto& raw : split(text, '\n')) {
        std::string_view line = raw;
        if (line.empty()) {
            finish();
            continue;
        }
        if (line.size() < 2 || line[1] != ':') continue;
        std::string value(line.substr(2));
        switch (line[0]) {
            case 'P':
                current.name = value;
                break;
            case 'V':
                current.version = value;
                break;
            case 'A':
                current.architecture = value;
                break;
            case 'L':
                if (!value.empty()) current.licenses.push_back(value);
                break;
            case 'o':
                current.source_name = value;
                break;
            case 'm':
                current.supplier = value;
                break;
            default:
                break;
        }
    }
    finish();
    return out;
}

void read_apk(const ReaderContext& ctx) {
    const std::string installed = "lib/apk/db/installed";
    read_layered_database(ctx, installed, [&](size_t layer) {
        TreeEntry e;
        e.path = installed;
        e.layer = layer;
        std::string path = ctx.tree.layer_root(layer) + "/" + installed;
        ::stat(path.c_str(), &e.st);
        return parse_apk_installed(ctx.tree.read(e), ctx.os);
    });
}

}  // namespace berth::trust::sbom
