// CycloneDX 1.5 (cyclonedx.org/docs/1.5/json): the image as metadata.component (a
// container), the OS as an operating-system component, packages as libraries.
#include <nlohmann/json.hpp>

#include "trust/sbom/writers.hpp"

namespace berth::trust::sbom {

std::string to_cyclonedx_json(const Catalog& catalog, const WriteOptions& options) {
    using json = nlohmann::ordered_json;
    std::string name =
        catalog.image.name.empty() ? catalog.image.manifest.str() : catalog.image.name;
    json doc;
    doc["bomFormat"] = "CycloneDX";
    doc["specVersion"] = "1.5";
    doc["serialNumber"] = "urn:uuid:" + random_uuid();
    doc["version"] = 1;
    json component = {{"bom-ref", "image"},
                      {"type", "container"},
                      {"name", name},
                      {"version", catalog.image.manifest.str()}};
    if (!catalog.image.manifest.empty())
        component["hashes"] =
            json::array({{{"alg", "SHA-256"}, {"content", catalog.image.manifest.hex()}}});
    doc["metadata"] = {
        {"timestamp", creation_time(options)},
        {"tools",
         {{"components",
           json::array(
               {{{"type", "application"},
                 {"name", "berth"},
                 {"version", options.tool_version.empty() ? "unknown" : options.tool_version}}})}}},
        {"component", component}};
    json components = json::array();
    json depends = json::array();
    if (!catalog.os.empty()) {
        json os = {{"bom-ref", "os"},
                   {"type", "operating-system"},
                   {"name", catalog.os.id.empty() ? catalog.os.name : catalog.os.id},
                   {"version", catalog.os.version_id}};
        if (!catalog.os.pretty_name.empty()) os["description"] = catalog.os.pretty_name;
        components.push_back(os);
        depends.push_back("os");
    }
    for (size_t i = 0; i < catalog.packages.size(); ++i) {
        const Package& p = catalog.packages[i];
        std::string ref = "pkg-" + std::to_string(i);
        json c = {{"bom-ref", ref}, {"type", "library"}, {"name", p.name}, {"version", p.version}};
        if (!p.supplier.empty()) c["publisher"] = p.supplier;
        if (!p.licenses.empty()) {
            json licenses = json::array();
            for (const auto& l : p.licenses)
                licenses.push_back({{"license", {{"name", l}}}});
            c["licenses"] = licenses;
        }
        if (!p.cpe.empty()) c["cpe"] = p.cpe;
        if (!p.purl.empty()) c["purl"] = p.purl;
        json props = json::array();
        props.push_back({{"name", "berth:layerDigest"}, {"value", p.layer.str()}});
        props.push_back({{"name", "berth:location"}, {"value", p.found_in}});
        props.push_back({{"name", "berth:package:type"}, {"value", p.type}});
        if (!p.architecture.empty())
            props.push_back({{"name", "berth:package:architecture"}, {"value", p.architecture}});
        if (!p.source_name.empty())
            props.push_back({{"name", "berth:package:sourceName"}, {"value", p.source_name}});
        if (!p.source_version.empty())
            props.push_back({{"name", "berth:package:sourceVersion"}, {"value", p.source_version}});
        c["properties"] = props;
        components.push_back(c);
        depends.push_back(ref);
    }
    doc["components"] = components;
    doc["dependencies"] = json::array({{{"ref", "image"}, {"dependsOn", depends}}});
    return doc.dump(2) + "\n";
}

}  // namespace berth::trust::sbom
