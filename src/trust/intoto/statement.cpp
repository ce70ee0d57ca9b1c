#include "trust/intoto/statement.hpp"

#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>

#include "common/json_reader.hpp"
#include "common/strings.hpp"
#include "common/time.hpp"

namespace berth::trust::intoto {
namespace {

using json = nlohmann::ordered_json;

json descriptor_json(const ResourceDescriptor& d) {
    json j = json::object();
    if (!d.name.empty()) j["name"] = d.name;
    if (!d.uri.empty()) j["uri"] = d.uri;
    j["digest"] = json::object();
    for (const auto& [alg, hex] : d.digest)
        j["digest"][alg] = hex;
    if (!d.annotations.is_null() && !d.annotations.empty()) j["annotations"] = d.annotations;
    return j;
}

ResourceDescriptor parse_descriptor(const JsonReader& r) {
    r.require_object();
    ResourceDescriptor d;
    d.name = r.string_or("name");
    d.uri = r.string_or("uri");
    d.digest = r.at("digest").as_string_map();
    if (d.digest.empty()) r.at("digest").fail("needs at least one digest");
    if (d.name.empty() && d.uri.empty()) r.fail("needs a name or a uri");
    if (auto a = r.find("annotations")) d.annotations = a->node();
    return d;
}

}  // namespace

ResourceDescriptor descriptor_of(const std::string& name_or_uri, const Digest& digest,
                                 bool is_material) {
    ResourceDescriptor d;
    (is_material ? d.uri : d.name) = name_or_uri;
    d.digest[std::string(digest.algorithm_name())] = digest.hex();
    return d;
}

std::string provenance_time() {
    if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH"); epoch && *epoch)
        if (auto seconds = parse_int64(epoch))
            return format_rfc3339(timespec{static_cast<time_t>(*seconds), 0});
    return rfc3339_now();
}

std::string to_json(const Statement& s) {
    const SlsaProvenance& p = s.provenance;
    json external = json::object();
    json source = json::object();
    source["path"] = p.containerfile;
    if (!p.containerfile_digest.empty())
        source["digest"] = {
            {std::string(p.containerfile_digest.algorithm_name()), p.containerfile_digest.hex()}};
    external["containerfile"] = source;
    external["buildArgs"] = json::object();
    for (const auto& [k, v] : p.build_args)
        external["buildArgs"][k] = v;
    if (!p.target.empty()) external["target"] = p.target;
    if (!p.platforms.empty()) external["platforms"] = p.platforms;
    json deps = json::array();
    for (const auto& m : p.materials)
        deps.push_back(descriptor_json(m));
    json builder = {{"id", p.builder_id}};
    if (!p.builder_version.empty()) builder["version"] = {{"berth", p.builder_version}};
    json metadata = json::object();
    if (!p.invocation_id.empty()) metadata["invocationId"] = p.invocation_id;
    if (!p.started_on.empty()) metadata["startedOn"] = p.started_on;
    if (!p.finished_on.empty()) metadata["finishedOn"] = p.finished_on;
    json subjects = json::array();
    for (const auto& d : s.subjects)
        subjects.push_back(descriptor_json(d));
    json doc = {{"_type", kStatementType},
                {"subject", subjects},
                {"predicateType", kSlsaProvenanceType},
                {"predicate",
                 {{"buildDefinition",
                   {{"buildType", p.build_type},
                    {"externalParameters", external},
                    {"internalParameters", p.internal_parameters},
                    {"resolvedDependencies", deps}}},
                  {"runDetails", {{"builder", builder}, {"metadata", metadata}}}}}};
    return doc.dump();
}

Statement parse_statement(std::string_view text, const std::string& what) {
    nlohmann::json doc = parse_json(std::string(text), what);
    JsonReader r(doc, what);
    r.require_object();
    if (r.at("_type").as_string() != kStatementType)
        r.at("_type").fail("not an in-toto Statement v1");
    if (r.at("predicateType").as_string() != kSlsaProvenanceType)
        r.at("predicateType").fail("not a SLSA provenance v1 predicate");
    Statement s;
    for (const auto& item : r.at("subject").as_array())
        s.subjects.push_back(parse_descriptor(item));
    if (s.subjects.empty()) r.at("subject").fail("needs at least one subject");
    JsonReader predicate = r.at("predicate");
    JsonReader definition = predicate.at("buildDefinition");
    SlsaProvenance& p = s.provenance;
    p.build_type = definition.at("buildType").as_string();
    JsonReader external = definition.at("externalParameters");
    if (auto cf = external.find("containerfile")) {
        p.containerfile = cf->string_or("path");
        if (auto d = cf->find("digest"))
            for (const auto& [alg, hex] : d->as_string_map())
                if (alg == "sha256")
                    p.containerfile_digest = Digest::from_hex(DigestAlgorithm::sha256, hex);
    }
    if (auto args = external.find("buildArgs")) p.build_args = args->as_string_map();
    p.target = external.string_or("target");
    p.platforms = external.string_array_or_empty("platforms");
    if (auto internal = definition.find("internalParameters"))
        p.internal_parameters = internal->node();
    if (auto deps = definition.find("resolvedDependencies"))
        for (const auto& item : deps->as_array())
            p.materials.push_back(parse_descriptor(item));
    JsonReader run = predicate.at("runDetails");
    p.builder_id = run.at("builder").at("id").as_string();
    if (auto version = run.at("builder").find("version"))
        if (auto b = version->find("berth")) p.builder_version = b->as_string();
    if (auto metadata = run.find("metadata")) {
        p.invocation_id = metadata->string_or("invocationId");
        p.started_on = metadata->string_or("startedOn");
        p.finished_on = metadata->string_or("finishedOn");
    }
    return s;
}

Envelope sign_statement(const Statement& statement, const PrivateKey& key) {
    return sign_envelope(kStatementMediaType, to_json(statement), key, key_id(key.public_key()));
}

}  // namespace berth::trust::intoto
