#include "trust/simple_signing.hpp"

#include "common/json_reader.hpp"

namespace berth::trust {

std::string make_payload(const SimpleSigningPayload& payload) {
    nlohmann::ordered_json doc = {
        {"critical",
         {{"identity", {{"docker-reference", payload.docker_reference}}},
          {"image", {{"docker-manifest-digest", payload.manifest_digest.str()}}},
          {"type", kSimpleSigningType}}},
        {"optional", payload.optional.is_object() ? payload.optional : nlohmann::json::object()}};
    return doc.dump();
}

SimpleSigningPayload parse_payload(std::string_view bytes, const std::string& what) {
    nlohmann::json doc = parse_json(std::string(bytes), what);
    JsonReader r(doc, what);
    r.require_object();
    JsonReader critical = r.at("critical");
    critical.require_object();
    std::string type = critical.at("type").as_string();
    if (type != kSimpleSigningType)
        critical.at("type").fail("is \"" + type + "\", not \"" + std::string(kSimpleSigningType) +
                                 "\"");
    SimpleSigningPayload payload;
    payload.docker_reference = critical.at("identity").at("docker-reference").as_string();
    JsonReader digest = critical.at("image").at("docker-manifest-digest");
    auto parsed = Digest::try_parse(digest.as_string());
    if (!parsed) digest.fail("not a valid digest");
    payload.manifest_digest = *parsed;
    if (auto optional = r.find("optional")) {
        optional->require_object();
        payload.optional = optional->node();
    }
    return payload;
}

}  // namespace berth::trust
