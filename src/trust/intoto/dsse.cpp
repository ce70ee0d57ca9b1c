#include "trust/intoto/dsse.hpp"

#include <nlohmann/json.hpp>

#include "common/digest.hpp"
#include "common/json_reader.hpp"
#include "distribution/client/http.hpp"

namespace berth::trust::intoto {

std::string pre_authentication_encoding(std::string_view payload_type, std::string_view payload) {
    std::string out = "DSSEv1 ";
    out += std::to_string(payload_type.size());
    out += ' ';
    out += payload_type;
    out += ' ';
    out += std::to_string(payload.size());
    out += ' ';
    out += payload;
    return out;
}

Envelope sign_envelope(std::string_view payload_type, std::string payload, const PrivateKey& key,
                       const std::string& keyid) {
    Envelope e;
    e.payload_type = payload_type;
    e.payload = std::move(payload);
    e.signatures.push_back(
        {keyid, key.sign(pre_authentication_encoding(e.payload_type, e.payload))});
    return e;
}

bool verify_envelope(const Envelope& envelope, const PublicKey& key) {
    std::string pae = pre_authentication_encoding(envelope.payload_type, envelope.payload);
    for (const auto& s : envelope.signatures)
        if (key.verify(pae, s.sig)) return true;
    return false;
}

std::string to_json(const Envelope& envelope) {
    nlohmann::ordered_json doc;
    doc["payloadType"] = envelope.payload_type;
    doc["payload"] = distribution::base64_encode(envelope.payload);
    doc["signatures"] = nlohmann::ordered_json::array();
    for (const auto& s : envelope.signatures)
        doc["signatures"].push_back(
            {{"keyid", s.keyid}, {"sig", distribution::base64_encode(s.sig)}});
    return doc.dump();
}

Envelope parse_envelope(std::string_view json, const std::string& what) {
    nlohmann::json doc = parse_json(std::string(json), what);
    JsonReader r(doc, what);
    r.require_object();
    Envelope e;
    e.payload_type = r.at("payloadType").as_string();
    auto payload = distribution::base64_decode(r.at("payload").as_string());
    if (!payload) r.at("payload").fail("not valid base64");
    e.payload = *payload;
    for (const auto& item : r.at("signatures").as_array()) {
        DsseSignature s;
        s.keyid = item.string_or("keyid");
        auto sig = distribution::base64_decode(item.at("sig").as_string());
        if (!sig || sig->empty()) item.at("sig").fail("not valid base64");
        s.sig = *sig;
        e.signatures.push_back(std::move(s));
    }
    if (e.signatures.empty()) r.at("signatures").fail("no signature");
    return e;
}

std::string key_id(const PublicKey& key) {
    return digest_of(key.der()).hex();
}

}  // namespace berth::trust::intoto
