// Python distributions: *.dist-info/METADATA (wheels, pip), *.egg-info/PKG-INFO and
// *.egg-info files (setuptools); the core metadata's Name, Version and License.
#include "common/strings.hpp"
#include "trust/sbom/identifiers.hpp"
#include "trust/sbom/readers.hpp"

namespace berth::trust::sbom {
namespace {

std::string base(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string normalized_pypi_name(std::string name) {
    for (auto& c : name) {
        if (c == '_' || c == '.') c = '-';
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return name;
}

}  // namespace

std::vector<std::string> parse_python_metadata(std::string_view text) {
    std::string name, version, license, expression;
    for (const auto& raw : split(text, '\n')) {
        std::string_view line = raw;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) break;  // the body (description) follows the headers
        if (line.front() == ' ' || line.front() == '\t') continue;
        auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view key = line.substr(0, colon);
        std::string value(trim(line.substr(colon + 1)));
        if (key == "Name") name = value;
        if (key == "Version") version = value;
        if (key == "License" && value != "UNKNOWN") license = value;
        if (key == "License-Expression") expression = value;
    }
    return {name, version, expression.empty() ? license : expression};
}

bool is_python_metadata_dir(const TreeEntry& entry) {
    std::string name = base(entry.path);
    if (S_ISDIR(entry.st.st_mode))
        return name.ends_with(".dist-info") || name.ends_with(".egg-info");
    return S_ISREG(entry.st.st_mode) && name.ends_with(".egg-info");
}

void read_python_package(const ReaderContext& ctx, const TreeEntry& entry) {
    std::optional<TreeEntry> file = entry;
    if (S_ISDIR(entry.st.st_mode))
        file = ctx.tree.find(entry.path +
                             (entry.path.ends_with(".dist-info") ? "/METADATA" : "/PKG-INFO"));
    if (!file || !S_ISREG(file->st.st_mode)) return;
    auto fields = parse_python_metadata(ctx.tree.read(*file, 4 << 20));
    if (fields[0].empty() || fields[1].empty()) return;
    Package p;
    p.type = "pypi";
    p.name = fields[0];
    p.version = fields[1];
    if (!fields[2].empty() && fields[2].find('\n') == std::string::npos && fields[2].size() < 200)
        p.licenses.push_back(fields[2]);
    p.found_in = "/" + file->path;
    p.layer_index = file->layer;
    p.purl = make_purl("pypi", "", normalized_pypi_name(p.name), p.version, {});
    ctx.add(std::move(p));
}

}  // namespace berth::trust::sbom
