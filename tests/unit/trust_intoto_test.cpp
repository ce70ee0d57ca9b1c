// DSSE envelopes and in-toto statements with a SLSA v1 provenance predicate: what
// `berth build --provenance` will attach.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "trust/intoto/dsse.hpp"
#include "trust/intoto/statement.hpp"

using namespace berth;
using namespace berth::trust;
using namespace berth::trust::intoto;

TEST(TrustDsse, PreAuthenticationEncodingAsTheSpecWritesIt) {
    // The example of the DSSE protocol document.
    EXPECT_EQ(pre_authentication_encoding("http://example.com/HelloWorld", "hello world"),
              "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
}

TEST(TrustDsse, SignedEnvelopeVerifiesAndDetectsChanges) {
    PrivateKey key = PrivateKey::generate();
    Envelope e = sign_envelope("application/vnd.in-toto+json", "{\"a\":1}", key, "k1");
    std::string text = to_json(e);
    Envelope back = parse_envelope(text, "envelope");
    EXPECT_EQ(back.payload, "{\"a\":1}");
    EXPECT_EQ(back.signatures[0].keyid, "k1");
    EXPECT_TRUE(verify_envelope(back, key.public_key()));
    EXPECT_FALSE(verify_envelope(back, PrivateKey::generate().public_key()));
    Envelope altered = back;
    altered.payload = "{\"a\":2}";
    EXPECT_FALSE(verify_envelope(altered, key.public_key()));
    Envelope retyped = back;
    retyped.payload_type = "text/plain";  // the type is signed too
    EXPECT_FALSE(verify_envelope(retyped, key.public_key()));
    EXPECT_THROW(parse_envelope(R"({"payloadType":"x","payload":"e30=","signatures":[]})", "e"),
                 Error);
}

TEST(TrustInToto, ProvenanceStatementRoundTripsAndSigns) {
    Statement s;
    s.subjects.push_back(descriptor_of("reg.io/team/app:1", digest_of("manifest"), false));
    SlsaProvenance& p = s.provenance;
    p.containerfile = "Containerfile";
    p.containerfile_digest = digest_of("FROM busybox\n");
    p.build_args = {{"VERSION", "1.2"}};
    p.materials.push_back(
        descriptor_of("docker-image://docker.io/library/busybox@" + digest_of("base").str(),
                      digest_of("base"), true));
    ::setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
    p.started_on = provenance_time();
    p.finished_on = provenance_time();
    ::unsetenv("SOURCE_DATE_EPOCH");
    EXPECT_EQ(p.started_on, "2023-11-14T22:13:20Z");
    std::string text = to_json(s);
    auto doc = nlohmann::json::parse(text);
    EXPECT_EQ(doc["_type"], "https://in-toto.io/Statement/v1");
    EXPECT_EQ(doc["predicateType"], "https://slsa.dev/provenance/v1");
    EXPECT_EQ(doc["subject"][0]["digest"]["sha256"], digest_of("manifest").hex());
    EXPECT_EQ(doc["predicate"]["buildDefinition"]["buildType"], kBerthBuildType);
    EXPECT_EQ(doc["predicate"]["buildDefinition"]["resolvedDependencies"][0]["digest"]["sha256"],
              digest_of("base").hex());
    EXPECT_EQ(doc["predicate"]["runDetails"]["builder"]["id"], kBerthBuilderId);

    Statement back = parse_statement(text, "statement");
    EXPECT_EQ(back.provenance.containerfile_digest, p.containerfile_digest);
    EXPECT_EQ(back.provenance.build_args, p.build_args);
    EXPECT_EQ(back.provenance.materials[0].uri, p.materials[0].uri);
    EXPECT_EQ(back.provenance.finished_on, p.finished_on);

    PrivateKey key = PrivateKey::generate();
    Envelope e = sign_statement(s, key);
    EXPECT_EQ(e.payload_type, "application/vnd.in-toto+json");
    EXPECT_EQ(e.signatures[0].keyid, key_id(key.public_key()));
    EXPECT_TRUE(verify_envelope(e, key.public_key()));
    EXPECT_EQ(parse_statement(e.payload, "payload").subjects[0].name, "reg.io/team/app:1");

    EXPECT_THROW(
        parse_statement(
            R"({"_type":"https://in-toto.io/Statement/v0.1","subject":[],"predicateType":"x","predicate":{}})",
            "s"),
        Error);
}
