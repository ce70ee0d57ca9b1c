// Keys and signatures in sigstore/cosign's formats: the encrypted private key (scrypt +
// NaCl secretbox), PEM public keys, ECDSA P-256 only, and the simple signing payload.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <nlohmann/json.hpp>

#include "distribution/client/http.hpp"
#include "trust/encrypted_key.hpp"
#include "trust/keys.hpp"
#include "trust/simple_signing.hpp"

using namespace berth;
using namespace berth::trust;

namespace {

std::string key_error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

std::string public_pem_of(EVP_PKEY* key) {
    unsigned char* out = nullptr;
    int size = i2d_PUBKEY(key, &out);
    std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(size));
    OPENSSL_free(out);
    return write_pem("PUBLIC KEY", der);
}

}  // namespace

TEST(TrustKeys, EncryptedKeyRoundTripsAndSigns) {
    PrivateKey key = PrivateKey::generate();
    std::string pem = encrypt_private_key(key, "s3cret");
    ASSERT_NE(pem.find("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----"), std::string::npos);
    // The block is go-securesystemslib's JSON with cosign's parameters.
    PemBlock block = read_pem(pem, "test");
    auto doc = nlohmann::json::parse(block.data);
    EXPECT_EQ(doc["kdf"]["name"], "scrypt");
    EXPECT_EQ(doc["kdf"]["params"]["N"], 32768);
    EXPECT_EQ(doc["kdf"]["params"]["r"], 8);
    EXPECT_EQ(doc["kdf"]["params"]["p"], 1);
    EXPECT_EQ(distribution::base64_decode(doc["kdf"]["salt"].get<std::string>())->size(), 32U);
    EXPECT_EQ(doc["cipher"]["name"], "nacl/secretbox");
    EXPECT_EQ(distribution::base64_decode(doc["cipher"]["nonce"].get<std::string>())->size(), 24U);

    PrivateKey back = decrypt_private_key(pem, "s3cret", "cosign.key");
    EXPECT_EQ(back.pkcs8_der(), key.pkcs8_der());
    std::string signature = back.sign("payload");
    EXPECT_TRUE(key.public_key().verify("payload", signature));
    EXPECT_FALSE(key.public_key().verify("payloaD", signature));
    // The public key survives PEM.
    PublicKey pub = load_public_key(key.public_key().pem(), "cosign.pub");
    EXPECT_TRUE(pub.verify("payload", signature));
}

TEST(TrustKeys, EmptyPasswordWorks) {
    PrivateKey key = PrivateKey::generate();
    std::string pem = encrypt_private_key(key, "");
    EXPECT_EQ(decrypt_private_key(pem, "", "k").pkcs8_der(), key.pkcs8_der());
}

TEST(TrustKeys, WrongPasswordNamesTheFile) {
    std::string pem = encrypt_private_key(PrivateKey::generate(), "right");
    EXPECT_EQ(key_error_of([&] { decrypt_private_key(pem, "wrong", "/keys/cosign.key"); }),
              "/keys/cosign.key: wrong password (the key does not decrypt)");
}

TEST(TrustKeys, CosignOneLabelIsAccepted) {
    std::string pem = encrypt_private_key(PrivateKey::generate(), "pw");
    PemBlock block = read_pem(pem, "t");
    std::string old = write_pem(kCosignPrivateKeyLabel, block.data);
    EXPECT_NO_THROW(decrypt_private_key(old, "pw", "old.key"));
}

TEST(TrustKeys, MalformedInputIsRefusedWithOneLine) {
    EXPECT_EQ(key_error_of([] { decrypt_private_key("not a pem", "pw", "a.key"); }),
              "a.key: not a PEM file (no valid \"-----BEGIN ...-----\" block)");
    std::string other = write_pem("RSA PRIVATE KEY", "xyz");
    EXPECT_NE(key_error_of([&] {
                  decrypt_private_key(other, "pw", "b.key");
              }).find("b.key: not an encrypted sigstore private key"),
              std::string::npos);
    std::string not_json = write_pem(kSigstorePrivateKeyLabel, "{broken");
    EXPECT_EQ(key_error_of([&] { decrypt_private_key(not_json, "pw", "c.key"); }),
              "c.key: the encrypted key is not the JSON cosign writes");
    std::string bad_kdf = write_pem(
        kSigstorePrivateKeyLabel,
        R"({"kdf":{"name":"pbkdf2","params":{"N":2,"r":1,"p":1},"salt":""},"cipher":{"name":"nacl/secretbox","nonce":""},"ciphertext":""})");
    EXPECT_NE(
        key_error_of([&] { decrypt_private_key(bad_kdf, "pw", "d.key"); }).find("d.key.kdf.name"),
        std::string::npos);
    // A huge scrypt N is refused before any work.
    std::string huge = write_pem(
        kSigstorePrivateKeyLabel,
        R"({"kdf":{"name":"scrypt","params":{"N":1073741824,"r":8,"p":1},"salt":"AAAA"},"cipher":{"name":"nacl/secretbox","nonce":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},"ciphertext":"AAAAAAAAAAAAAAAAAAAAAA=="})");
    EXPECT_NE(
        key_error_of([&] { decrypt_private_key(huge, "pw", "e.key"); }).find("e.key.kdf.params.N"),
        std::string::npos);
    EXPECT_EQ(key_error_of([] { load_public_key("garbage", "x.pub"); }),
              "x.pub: not a PEM file (no valid \"-----BEGIN ...-----\" block)");
}

TEST(TrustKeys, OtherCurvesAndTypesAreRefused) {
    PkeyPtr p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
    ASSERT_TRUE(p384);
    EXPECT_EQ(key_error_of([&] { load_public_key(public_pem_of(p384.get()), "p384.pub"); }),
              "p384.pub: an ECDSA P-256 key is required, this is an EC key on curve secp384r1");
    PkeyPtr ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    ASSERT_TRUE(ed);
    EXPECT_EQ(key_error_of([&] { load_public_key(public_pem_of(ed.get()), "ed.pub"); }),
              "ed.pub: an ECDSA P-256 key is required, this is an Ed25519 key");
    // A P-384 private key inside cosign's envelope: refused once decrypted.
    PrivateKey wrapped(std::move(p384));
    std::string pem = encrypt_private_key(wrapped, "pw");
    EXPECT_EQ(key_error_of([&] { decrypt_private_key(pem, "pw", "p384.key"); }),
              "p384.key: an ECDSA P-256 key is required, this is an EC key on curve secp384r1");
}

TEST(TrustSimpleSigning, PayloadRoundTripsAndIsStrict) {
    SimpleSigningPayload p;
    p.docker_reference = "registry.example:5000/team/app:1";
    p.manifest_digest = digest_of("manifest");
    p.optional["owner"] = "ci";
    std::string bytes = make_payload(p);
    auto doc = nlohmann::json::parse(bytes);
    EXPECT_EQ(doc["critical"]["type"], "cosign container image signature");
    EXPECT_EQ(doc["critical"]["identity"]["docker-reference"], p.docker_reference);
    EXPECT_EQ(doc["critical"]["image"]["docker-manifest-digest"], p.manifest_digest.str());
    EXPECT_EQ(doc["optional"]["owner"], "ci");
    SimpleSigningPayload back = parse_payload(bytes, "payload");
    EXPECT_EQ(back.docker_reference, p.docker_reference);
    EXPECT_EQ(back.manifest_digest, p.manifest_digest);
    // "optional" is always an object (containers/image requires the key).
    EXPECT_TRUE(nlohmann::json::parse(
                    make_payload(SimpleSigningPayload{"r/x", p.manifest_digest, {}}))["optional"]
                    .is_object());
    // cosign writes "optional": null when it was given no annotation.
    std::string cosign_payload =
        R"({"critical":{"identity":{"docker-reference":"reg.io/team/app"},"image":{"docker-manifest-digest":")" +
        p.manifest_digest.str() +
        R"("},"type":"cosign container image signature"},"optional":null})";
    EXPECT_EQ(parse_payload(cosign_payload, "cosign").docker_reference, "reg.io/team/app");

    EXPECT_NE(
        key_error_of([] {
            parse_payload(
                R"({"critical":{"type":"atomic container signature","identity":{"docker-reference":"a/b"},"image":{"docker-manifest-digest":"sha256:00"}}})",
                "sig");
        }).find("sig.critical.type"),
        std::string::npos);
    EXPECT_NE(
        key_error_of([] {
            parse_payload(
                R"({"critical":{"type":"cosign container image signature","identity":{"docker-reference":"a/b"},"image":{"docker-manifest-digest":"sha256:zz"}}})",
                "sig");
        }).find("docker-manifest-digest: not a valid digest"),
        std::string::npos);
}
