#include "common/strings.hpp"
#include "trust/sbom/readers.hpp"

namespace berth::trust::sbom {

OsRelease parse_os_release(std::string_view text) {
    OsRelease os;
    for (const auto& raw : split(text, '\n')) {
        std::string_view line = trim(raw);
        if (line.empty() || line.front() == '#') continue;
        auto eq = line.find('=');
        if (eq == std::string_view::npos) continue;
        std::string key(line.substr(0, eq));
        std::string value(trim(line.substr(eq + 1)));
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
            value.back() == value.front())
            value = value.substr(1, value.size() - 2);
        if (key == "ID") os.id = value;
        if (key == "VERSION_ID") os.version_id = value;
        if (key == "VERSION_CODENAME") os.version_codename = value;
        if (key == "NAME") os.name = value;
        if (key == "PRETTY_NAME") os.pretty_name = value;
        if (key == "ID_LIKE") os.id_like = value;
    }
    return os;
}

OsRelease read_os_release(const LayeredTree& tree) {
    for (const char* path : {"etc/os-release", "usr/lib/os-release"}) {
        auto entry = tree.resolve(path);
        if (entry && S_ISREG(entry->st.st_mode))
            return parse_os_release(tree.read(*entry, 1 << 20));
    }
    return {};
}

}  // namespace berth::trust::sbom
