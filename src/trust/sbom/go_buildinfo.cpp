// Go binaries: the build information the Go toolchain (1.18 and later) embeds in the ELF
// section .go.buildinfo: the Go version and the module list (the main module, its
// dependencies and replacements), as `go version -m` prints them.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "common/file.hpp"
#include "common/strings.hpp"
#include "trust/sbom/identifiers.hpp"
#include "trust/sbom/readers.hpp"

namespace berth::trust::sbom {
namespace {

constexpr std::string_view kBuildInfoMagic = "\xff Go buildinf:";

uint64_t le(const unsigned char* p, size_t n) {
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = (v << 8) | p[i];
    return v;
}

bool pread_all(int fd, void* buffer, size_t size, uint64_t offset) {
    size_t done = 0;
    while (done < size) {
        ssize_t n = ::pread(fd, static_cast<char*>(buffer) + done, size - done,
                            static_cast<off_t>(offset + done));
        if (n <= 0) return false;
        done += static_cast<size_t>(n);
    }
    return true;
}

// A length-prefixed (uvarint) string at pos; advances pos.
std::optional<std::string> uvarint_string(std::string_view data, size_t& pos) {
    uint64_t length = 0;
    for (int shift = 0; pos < data.size() && shift < 64; shift += 7) {
        auto b = static_cast<unsigned char>(data[pos++]);
        length |= uint64_t{b & 0x7fU} << shift;
        if (!(b & 0x80)) {
            if (length > data.size() - pos) return std::nullopt;
            std::string out(data.substr(pos, length));
            pos += length;
            return out;
        }
    }
    return std::nullopt;
}

}  // namespace

std::optional<GoBuildInfo> parse_go_buildinfo(int fd, const std::string& what) {
    (void)what;
    unsigned char header[64];
    if (!pread_all(fd, header, sizeof header, 0)) return std::nullopt;
    // 64-bit little-endian ELF only (what Go builds for amd64 and arm64).
    if (std::memcmp(header,
                    "\x7f"
                    "ELF",
                    4) != 0 ||
        header[4] != 2 || header[5] != 1)
        return std::nullopt;
    uint64_t shoff = le(header + 0x28, 8);
    uint64_t shentsize = le(header + 0x3A, 2), shnum = le(header + 0x3C, 2),
             shstrndx = le(header + 0x3E, 2);
    if (shoff == 0 || shentsize != 64 || shnum == 0 || shnum > 4096 || shstrndx >= shnum)
        return std::nullopt;
    std::vector<unsigned char> sections(shnum * 64);
    if (!pread_all(fd, sections.data(), sections.size(), shoff)) return std::nullopt;
    auto section_field = [&](uint64_t index, size_t offset, size_t size) {
        return le(sections.data() + index * 64 + offset, size);
    };
    uint64_t strtab_offset = section_field(shstrndx, 0x18, 8),
             strtab_size = section_field(shstrndx, 0x20, 8);
    if (strtab_size > (1 << 20)) return std::nullopt;
    std::string strtab(strtab_size, '\0');
    if (!pread_all(fd, strtab.data(), strtab.size(), strtab_offset)) return std::nullopt;
    for (uint64_t i = 0; i < shnum; ++i) {
        uint64_t name = section_field(i, 0, 4);
        if (name >= strtab.size() || std::strcmp(strtab.c_str() + name, ".go.buildinfo") != 0)
            continue;
        uint64_t offset = section_field(i, 0x18, 8),
                 size = std::min<uint64_t>(section_field(i, 0x20, 8), 1 << 20);
        std::string data(size, '\0');
        if (size < 32 || !pread_all(fd, data.data(), data.size(), offset)) return std::nullopt;
        if (!std::string_view(data).starts_with(kBuildInfoMagic)) return std::nullopt;
        auto flags = static_cast<unsigned char>(data[15]);
        if (!(flags & 2)) return std::nullopt;  // before Go 1.18: pointers, not inline strings
        size_t pos = 32;
        auto version = uvarint_string(data, pos);
        auto modinfo = uvarint_string(data, pos);
        if (!version || !modinfo) return std::nullopt;
        GoBuildInfo info;
        info.go_version = *version;
        std::string mods = *modinfo;
        if (mods.size() >= 33 && mods[mods.size() - 17] == '\n')
            mods = mods.substr(16, mods.size() - 32);
        for (const auto& line : split(mods, '\n')) {
            auto cols = split(line, '\t');
            if (cols.size() >= 3 && cols[0] == "mod") {
                info.main_path = cols[1];
                info.main_version = cols[2];
            } else if (cols.size() >= 3 && cols[0] == "dep") {
                info.deps.emplace_back(cols[1], cols[2]);
            } else if (cols.size() >= 3 && cols[0] == "=>" && !info.deps.empty()) {
                info.deps.back().second = cols[2];  // the replacement's version
            }
        }
        return info;
    }
    return std::nullopt;
}

bool may_be_go_binary(const TreeEntry& entry) {
    return S_ISREG(entry.st.st_mode) && (entry.st.st_mode & 0111) != 0 &&
           entry.st.st_size >= 512 * 1024;
}

void read_go_binary(const ReaderContext& ctx, const TreeEntry& entry) {
    UniqueFd fd(::open((ctx.tree.layer_root(entry.layer) + "/" + entry.path).c_str(),
                       O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) return;
    auto info = parse_go_buildinfo(fd.get(), "/" + entry.path);
    if (!info) return;
    auto add = [&](const std::string& path, const std::string& version) {
        Package p;
        p.type = "golang";
        p.name = path;
        p.version = version;
        p.found_in = "/" + entry.path;
        p.layer_index = entry.layer;
        auto slash = path.rfind('/');
        p.purl = slash == std::string::npos ? make_purl("golang", "", path, version, {})
                                            : make_purl("golang", path.substr(0, slash),
                                                        path.substr(slash + 1), version, {});
        ctx.add(std::move(p));
    };
    if (!info->main_path.empty()) add(info->main_path, info->main_version);
    for (const auto& [path, version] : info->deps)
        add(path, version);
    std::string go = info->go_version;
    if (go.starts_with("go")) go = go.substr(2);
    if (!go.empty()) add("stdlib", go);
}

}  // namespace berth::trust::sbom
