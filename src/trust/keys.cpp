#include "trust/keys.hpp"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace berth::trust {
namespace {

struct BioFree {
    void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

struct MdCtxFree {
    void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

std::string openssl_error() {
    unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) return "unknown OpenSSL error";
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    return buffer;
}

std::string key_description(EVP_PKEY* key) {
    int id = EVP_PKEY_get_base_id(key);
    if (id == EVP_PKEY_RSA) return "an RSA " + std::to_string(EVP_PKEY_get_bits(key)) + " key";
    if (id == EVP_PKEY_ED25519) return "an Ed25519 key";
    if (id == EVP_PKEY_EC) {
        char group[64] = {};
        size_t length = 0;
        if (EVP_PKEY_get_group_name(key, group, sizeof group, &length) == 1)
            return "an EC key on curve " + std::string(group, length);
        return "an EC key";
    }
    const char* name = OBJ_nid2sn(id);
    return std::string("a ") + (name ? name : "unknown") + " key";
}

}  // namespace

void PkeyFree::operator()(EVP_PKEY* key) const noexcept {
    EVP_PKEY_free(key);
}

void require_p256(EVP_PKEY* key, const std::string& what) {
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
        char group[64] = {};
        size_t length = 0;
        if (EVP_PKEY_get_group_name(key, group, sizeof group, &length) == 1 &&
            std::string_view(group, length) == "prime256v1")
            return;
    }
    throw KeyError(what + ": an ECDSA P-256 key is required, this is " + key_description(key));
}

PemBlock read_pem(std::string_view text, const std::string& what) {
    BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    if (!bio) throw KeyError(what + ": " + openssl_error());
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long length = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &data, &length) != 1) {
        ERR_clear_error();
        throw KeyError(what + ": not a PEM file (no valid \"-----BEGIN ...-----\" block)");
    }
    PemBlock block{name, std::string(reinterpret_cast<char*>(data), static_cast<size_t>(length))};
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    return block;
}

std::string write_pem(std::string_view label, std::string_view data) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    std::string name(label);
    if (!bio || PEM_write_bio(bio.get(), name.c_str(), "",
                              reinterpret_cast<const unsigned char*>(data.data()),
                              static_cast<long>(data.size())) <= 0)
        throw Error("writing a PEM block: " + openssl_error());
    char* out = nullptr;
    long size = BIO_get_mem_data(bio.get(), &out);
    return {out, static_cast<size_t>(size)};
}

std::string PublicKey::der() const {
    unsigned char* out = nullptr;
    int size = i2d_PUBKEY(key_.get(), &out);
    if (size <= 0) throw Error("encoding a public key: " + openssl_error());
    std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(size));
    OPENSSL_free(out);
    return der;
}

std::string PublicKey::pem() const {
    return write_pem("PUBLIC KEY", der());
}

bool PublicKey::verify(std::string_view data, std::string_view signature) const {
    MdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1)
        throw Error("ECDSA verification set-up: " + openssl_error());
    int rc = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                              signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                              data.size());
    ERR_clear_error();
    return rc == 1;
}

PrivateKey PrivateKey::generate() {
    PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) throw Error("generating an ECDSA P-256 key: " + openssl_error());
    return PrivateKey(std::move(key));
}

std::string PrivateKey::pkcs8_der() const {
    PKCS8_PRIV_KEY_INFO* info = EVP_PKEY2PKCS8(key_.get());
    if (!info) throw Error("encoding a private key: " + openssl_error());
    unsigned char* out = nullptr;
    int size = i2d_PKCS8_PRIV_KEY_INFO(info, &out);
    PKCS8_PRIV_KEY_INFO_free(info);
    if (size <= 0) throw Error("encoding a private key: " + openssl_error());
    std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(size));
    OPENSSL_clear_free(out, static_cast<size_t>(size));
    return der;
}

PublicKey PrivateKey::public_key() const {
    unsigned char* out = nullptr;
    int size = i2d_PUBKEY(key_.get(), &out);
    if (size <= 0) throw Error("encoding a public key: " + openssl_error());
    const unsigned char* p = out;
    PkeyPtr pub(d2i_PUBKEY(nullptr, &p, size));
    OPENSSL_free(out);
    if (!pub) throw Error("decoding a public key: " + openssl_error());
    return PublicKey(std::move(pub));
}

std::string PrivateKey::sign(std::string_view data) const {
    MdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1)
        throw Error("ECDSA signing set-up: " + openssl_error());
    size_t size = 0;
    auto in = reinterpret_cast<const unsigned char*>(data.data());
    if (EVP_DigestSign(ctx.get(), nullptr, &size, in, data.size()) != 1)
        throw Error("ECDSA signing: " + openssl_error());
    std::string signature(size, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, in,
                       data.size()) != 1)
        throw Error("ECDSA signing: " + openssl_error());
    signature.resize(size);
    return signature;
}

PrivateKey private_key_from_pkcs8(std::string_view der, const std::string& what) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    PKCS8_PRIV_KEY_INFO* info = d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(der.size()));
    if (!info) {
        ERR_clear_error();
        throw KeyError(what + ": the decrypted key is not a PKCS#8 private key");
    }
    PkeyPtr key(EVP_PKCS82PKEY(info));
    PKCS8_PRIV_KEY_INFO_free(info);
    if (!key) throw KeyError(what + ": " + openssl_error());
    require_p256(key.get(), what);
    return PrivateKey(std::move(key));
}

PublicKey load_public_key(std::string_view pem, const std::string& what) {
    PemBlock block = read_pem(pem, what);
    if (block.label != "PUBLIC KEY")
        throw KeyError(what + ": a \"PUBLIC KEY\" PEM block is required, this is \"" + block.label +
                       "\"");
    const auto* p = reinterpret_cast<const unsigned char*>(block.data.data());
    PkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(block.data.size())));
    if (!key) {
        ERR_clear_error();
        throw KeyError(what + ": the PUBLIC KEY block is not a valid SubjectPublicKeyInfo");
    }
    require_p256(key.get(), what);
    return PublicKey(std::move(key));
}

}  // namespace berth::trust
