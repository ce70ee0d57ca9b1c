#include "trust/sbom/rpm_header.hpp"

#include <vector>

#include "common/error.hpp"

namespace berth::trust::sbom {
namespace {

constexpr uint32_t kTagName = 1000, kTagVersion = 1001, kTagRelease = 1002, kTagEpoch = 1003,
                   kTagVendor = 1011, kTagLicense = 1014, kTagArch = 1022, kTagSourceRpm = 1044;
constexpr uint32_t kTypeInt32 = 4, kTypeString = 6, kTypeI18nString = 9;

uint32_t be32(std::string_view bytes, size_t offset) {
    auto b = [&](size_t i) {
        return static_cast<uint32_t>(static_cast<unsigned char>(bytes[offset + i]));
    };
    return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

void put_be32(std::string& out, uint32_t v) {
    out += static_cast<char>(v >> 24);
    out += static_cast<char>(v >> 16);
    out += static_cast<char>(v >> 8);
    out += static_cast<char>(v);
}

}  // namespace

RpmHeader parse_rpm_header(std::string_view blob, const std::string& what) {
    if (blob.size() < 8)
        throw Error(what + ": an rpm header of " + std::to_string(blob.size()) + " bytes");
    uint32_t count = be32(blob, 0);
    uint32_t data_size = be32(blob, 4);
    uint64_t index_end = 8 + uint64_t{count} * 16;
    if (count > 100000 || index_end + data_size > blob.size())
        throw Error(what + ": a damaged rpm header (" + std::to_string(count) + " entries, " +
                    std::to_string(data_size) + " data bytes in " + std::to_string(blob.size()) +
                    ")");
    std::string_view data = blob.substr(index_end, data_size);
    RpmHeader h;
    for (uint32_t i = 0; i < count; ++i) {
        size_t at = 8 + size_t{i} * 16;
        uint32_t tag = be32(blob, at), type = be32(blob, at + 4), offset = be32(blob, at + 8);
        if (offset >= data.size()) continue;
        if (type == kTypeInt32) {
            if (tag == kTagEpoch && offset + 4 <= data.size()) h.epoch = be32(data, offset);
            continue;
        }
        if (type != kTypeString && type != kTypeI18nString) continue;
        auto end = data.find('\0', offset);
        if (end == std::string_view::npos) continue;
        std::string value(data.substr(offset, end - offset));
        switch (tag) {
            case kTagName:
                h.name = value;
                break;
            case kTagVersion:
                h.version = value;
                break;
            case kTagRelease:
                h.release = value;
                break;
            case kTagVendor:
                h.vendor = value;
                break;
            case kTagLicense:
                h.license = value;
                break;
            case kTagArch:
                h.arch = value;
                break;
            case kTagSourceRpm:
                h.source_rpm = value;
                break;
            default:
                break;
        }
    }
    return h;
}

std::string make_rpm_header(const RpmHeader& h) {
    std::vector<std::pair<uint32_t, std::string>> strings = {
        {kTagName, h.name},           {kTagVersion, h.version}, {kTagRelease, h.release},
        {kTagVendor, h.vendor},       {kTagLicense, h.license}, {kTagArch, h.arch},
        {kTagSourceRpm, h.source_rpm}};
    std::string index, data;
    uint32_t count = 0;
    if (h.epoch) {
        put_be32(index, kTagEpoch);
        put_be32(index, kTypeInt32);
        put_be32(index, static_cast<uint32_t>(data.size()));
        put_be32(index, 1);
        put_be32(data, *h.epoch);
        ++count;
    }
    for (const auto& [tag, value] : strings) {
        if (value.empty()) continue;
        put_be32(index, tag);
        put_be32(index, kTypeString);
        put_be32(index, static_cast<uint32_t>(data.size()));
        put_be32(index, 1);
        data += value;
        data += '\0';
        ++count;
    }
    std::string out;
    put_be32(out, count);
    put_be32(out, static_cast<uint32_t>(data.size()));
    return out + index + data;
}

}  // namespace berth::trust::sbom
