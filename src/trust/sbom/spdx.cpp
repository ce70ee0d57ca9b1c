// SPDX 2.3 (spdx.github.io/spdx-spec/v2.3): a document describing the image as a package
// (primaryPackagePurpose CONTAINER) that CONTAINS the OS and every package found.
#include <openssl/rand.h>

#include <cctype>
#include <cstdlib>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>

#include "common/strings.hpp"
#include "common/time.hpp"
#include "trust/sbom/writers.hpp"

namespace berth::trust::sbom {
namespace {

std::string spdx_id_part(std::string_view text) {
    std::string out;
    for (char c : text)
        out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-') ? c : '-';
    return out;
}

std::string license_ref(std::string_view text) {
    return "LicenseRef-" + spdx_id_part(text);
}

}  // namespace

std::string random_uuid() {
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) throw Error("no random bytes for a UUID");
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
        out += hex[b[i] >> 4];
        out += hex[b[i] & 15];
    }
    return out;
}

std::string creation_time(const WriteOptions& options) {
    if (!options.created.empty()) return options.created;
    if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH"); epoch && *epoch) {
        if (auto seconds = parse_int64(epoch)) {
            timespec ts{static_cast<time_t>(*seconds), 0};
            return format_rfc3339(ts);
        }
    }
    return rfc3339_now();
}

bool is_spdx_expression(std::string_view text) {
    if (text.empty()) return false;
    std::string spaced;
    for (char c : text) {
        if (c == '(' || c == ')') {
            spaced += ' ';
            spaced += c;
            spaced += ' ';
        } else {
            spaced += c;
        }
    }
    bool expect_id = true;
    int depth = 0;
    for (const auto& token : split(spaced, ' ')) {
        if (token.empty()) continue;
        if (token == "(") {
            if (!expect_id) return false;
            ++depth;
        } else if (token == ")") {
            if (expect_id || --depth < 0) return false;
        } else if (token == "AND" || token == "OR" || token == "WITH") {
            if (expect_id) return false;
            expect_id = true;
        } else {
            if (!expect_id) return false;
            for (char c : token)
                if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
                      c == '+' || c == ':'))
                    return false;
            // An identifier starts with a letter (SPDX ids and LicenseRef-/DocumentRef-).
            if (!std::isalpha(static_cast<unsigned char>(token[0]))) return false;
            expect_id = false;
        }
    }
    return !expect_id && depth == 0;
}

std::string to_spdx_json(const Catalog& catalog, const WriteOptions& options) {
    using json = nlohmann::ordered_json;
    std::string name =
        catalog.image.name.empty() ? catalog.image.manifest.str() : catalog.image.name;
    json doc;
    doc["spdxVersion"] = "SPDX-2.3";
    doc["dataLicense"] = "CC0-1.0";
    doc["SPDXID"] = "SPDXRef-DOCUMENT";
    doc["name"] = name;
    doc["documentNamespace"] =
        "https://spdx.org/spdxdocs/berth-" + spdx_id_part(name) + "-" + random_uuid();
    doc["creationInfo"] = {
        {"created", creation_time(options)},
        {"creators",
         json::array({"Tool: berth-" + (options.tool_version.empty() ? std::string("unknown")
                                                                     : options.tool_version)})}};
    json packages = json::array();
    json relationships = json::array();
    std::map<std::string, std::string> extracted;  // LicenseRef id -> text

    json image = {{"name", name},
                  {"SPDXID", "SPDXRef-Image"},
                  {"versionInfo", catalog.image.manifest.str()},
                  {"downloadLocation", "NOASSERTION"},
                  {"filesAnalyzed", false},
                  {"licenseConcluded", "NOASSERTION"},
                  {"licenseDeclared", "NOASSERTION"},
                  {"copyrightText", "NOASSERTION"},
                  {"primaryPackagePurpose", "CONTAINER"}};
    if (!catalog.image.manifest.empty())
        image["checksums"] = json::array(
            {{{"algorithm", "SHA256"}, {"checksumValue", catalog.image.manifest.hex()}}});
    packages.push_back(image);
    doc["documentDescribes"] = json::array({"SPDXRef-Image"});
    relationships.push_back({{"spdxElementId", "SPDXRef-DOCUMENT"},
                             {"relationshipType", "DESCRIBES"},
                             {"relatedSpdxElement", "SPDXRef-Image"}});
    if (!catalog.os.empty()) {
        packages.push_back(
            {{"name", catalog.os.id.empty() ? catalog.os.name : catalog.os.id},
             {"SPDXID", "SPDXRef-OperatingSystem"},
             {"versionInfo", catalog.os.version_id.empty() ? "NOASSERTION" : catalog.os.version_id},
             {"downloadLocation", "NOASSERTION"},
             {"filesAnalyzed", false},
             {"licenseConcluded", "NOASSERTION"},
             {"licenseDeclared", "NOASSERTION"},
             {"copyrightText", "NOASSERTION"},
             {"description", catalog.os.pretty_name},
             {"primaryPackagePurpose", "OPERATING_SYSTEM"}});
        relationships.push_back({{"spdxElementId", "SPDXRef-Image"},
                                 {"relationshipType", "CONTAINS"},
                                 {"relatedSpdxElement", "SPDXRef-OperatingSystem"}});
    }
    for (size_t i = 0; i < catalog.packages.size(); ++i) {
        const Package& p = catalog.packages[i];
        std::string id = "SPDXRef-Package-" + spdx_id_part(p.type) + "-" + spdx_id_part(p.name) +
                         "-" + std::to_string(i);
        std::string declared = "NOASSERTION";
        std::vector<std::string> parts;
        for (const auto& l : p.licenses) {
            if (is_spdx_expression(l)) {
                parts.push_back(p.licenses.size() > 1 ? "(" + l + ")" : l);
            } else {
                std::string ref = license_ref(l);
                extracted[ref] = l;
                parts.push_back(ref);
            }
        }
        if (!parts.empty()) declared = join(parts, " AND ");
        json pkg = {{"name", p.name},
                    {"SPDXID", id},
                    {"versionInfo", p.version},
                    {"downloadLocation", "NOASSERTION"},
                    {"filesAnalyzed", false},
                    {"licenseConcluded", "NOASSERTION"},
                    {"licenseDeclared", declared},
                    {"copyrightText", "NOASSERTION"},
                    {"sourceInfo", "found in " + p.found_in + " of layer " + p.layer.str()},
                    {"primaryPackagePurpose", "LIBRARY"}};
        if (!p.supplier.empty()) pkg["supplier"] = "Person: " + p.supplier;
        json refs = json::array();
        if (!p.purl.empty())
            refs.push_back({{"referenceCategory", "PACKAGE-MANAGER"},
                            {"referenceType", "purl"},
                            {"referenceLocator", p.purl}});
        if (!p.cpe.empty())
            refs.push_back({{"referenceCategory", "SECURITY"},
                            {"referenceType", "cpe23Type"},
                            {"referenceLocator", p.cpe}});
        pkg["externalRefs"] = refs;
        json annotations = json::array();
        annotations.push_back({{"annotationType", "OTHER"},
                               {"annotator", "Tool: berth"},
                               {"annotationDate", creation_time(options)},
                               {"comment", "layer: " + p.layer.str()}});
        if (!p.architecture.empty())
            annotations.push_back({{"annotationType", "OTHER"},
                                   {"annotator", "Tool: berth"},
                                   {"annotationDate", creation_time(options)},
                                   {"comment", "architecture: " + p.architecture}});
        if (!p.source_name.empty())
            annotations.push_back(
                {{"annotationType", "OTHER"},
                 {"annotator", "Tool: berth"},
                 {"annotationDate", creation_time(options)},
                 {"comment", "source package: " + p.source_name +
                                 (p.source_version.empty() ? "" : " " + p.source_version)}});
        pkg["annotations"] = annotations;
        packages.push_back(pkg);
        relationships.push_back({{"spdxElementId", "SPDXRef-Image"},
                                 {"relationshipType", "CONTAINS"},
                                 {"relatedSpdxElement", id}});
    }
    if (!extracted.empty()) {
        json infos = json::array();
        for (const auto& [ref, text] : extracted)
            infos.push_back({{"licenseId", ref}, {"extractedText", text}, {"name", text}});
        doc["hasExtractedLicensingInfos"] = infos;
    }
    doc["packages"] = packages;
    doc["relationships"] = relationships;
    return doc.dump(2) + "\n";
}

}  // namespace berth::trust::sbom
