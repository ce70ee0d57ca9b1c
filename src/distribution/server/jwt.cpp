#include "distribution/server/jwt.hpp"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <ctime>

#include "common/digest.hpp"
#include "common/file.hpp"

namespace berth::registry {
namespace {

struct BioDeleter {
    void operator()(BIO* bio) const { BIO_free(bio); }
};
struct MdCtxDeleter {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct PkeyCtxDeleter {
    void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
struct X509Deleter {
    void operator()(X509* cert) const { X509_free(cert); }
};
struct EcdsaSigDeleter {
    void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};

constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

KeyPtr generate_rsa_key() {
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nullptr));
    EVP_PKEY* key = nullptr;
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0 ||
        EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), 2048) <= 0 ||
        EVP_PKEY_keygen(ctx.get(), &key) <= 0)
        throw Error("generating the token signing key failed");
    return KeyPtr(key);
}

std::string public_der(evp_pkey_st* key) {
    unsigned char* der = nullptr;
    const int length = i2d_PUBKEY(key, &der);
    if (length <= 0) throw Error("encoding the token key failed");
    std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(length));
    OPENSSL_free(der);
    return out;
}

}  // namespace

void KeyDeleter::operator()(evp_pkey_st* key) const {
    EVP_PKEY_free(key);
}

std::string base64url_encode(std::string_view data) {
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 2 < data.size(); i += 3) {
        const uint32_t v = (static_cast<uint8_t>(data[i]) << 16) |
                           (static_cast<uint8_t>(data[i + 1]) << 8) |
                           static_cast<uint8_t>(data[i + 2]);
        out += kBase64Url[(v >> 18) & 63];
        out += kBase64Url[(v >> 12) & 63];
        out += kBase64Url[(v >> 6) & 63];
        out += kBase64Url[v & 63];
    }
    if (i + 1 == data.size()) {
        const uint32_t v = static_cast<uint8_t>(data[i]) << 16;
        out += kBase64Url[(v >> 18) & 63];
        out += kBase64Url[(v >> 12) & 63];
    } else if (i + 2 == data.size()) {
        const uint32_t v =
            (static_cast<uint8_t>(data[i]) << 16) | (static_cast<uint8_t>(data[i + 1]) << 8);
        out += kBase64Url[(v >> 18) & 63];
        out += kBase64Url[(v >> 12) & 63];
        out += kBase64Url[(v >> 6) & 63];
    }
    return out;
}

std::string base64url_decode(std::string_view text) {
    std::string out;
    uint32_t buffer = 0;
    int bits = 0;
    for (char c : text) {
        if (c == '=') break;
        const char* position = std::char_traits<char>::find(kBase64Url, 64, c);
        if (!position) throw InvalidToken("token is not base64url");
        buffer = (buffer << 6) | static_cast<uint32_t>(position - kBase64Url);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buffer >> bits) & 0xff);
        }
    }
    return out;
}

TokenSigner::TokenSigner(const std::string& private_key_path) {
    if (auto pem = read_file_if_exists(private_key_path)) {
        const std::string& text = *pem;
        std::unique_ptr<BIO, BioDeleter> bio(
            BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
        key_.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
        if (!key_) throw Error(private_key_path + ": not a PEM private key");
        if (EVP_PKEY_base_id(key_.get()) != EVP_PKEY_RSA)
            throw Error(private_key_path + ": the token key must be an RSA key");
    } else {
        key_ = generate_rsa_key();
        std::unique_ptr<BIO, BioDeleter> bio(BIO_new(BIO_s_mem()));
        PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr);
        char* data = nullptr;
        const long length = BIO_get_mem_data(bio.get(), &data);
        const mode_t old = ::umask(077);
        write_file_atomic(private_key_path, std::string_view(data, static_cast<size_t>(length)),
                          0600);
        ::umask(old);
    }
    key_id_ = digest_of(public_der(key_.get())).hex().substr(0, 32);
}

std::string TokenSigner::public_key_pem() const {
    std::unique_ptr<BIO, BioDeleter> bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_PUBKEY(bio.get(), key_.get());
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<size_t>(length));
}

std::string TokenSigner::sign(const nlohmann::json& claims) const {
    const nlohmann::json header{{"alg", "RS256"}, {"typ", "JWT"}, {"kid", key_id_}};
    const std::string input =
        base64url_encode(header.dump()) + "." + base64url_encode(claims.dump());
    std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
    size_t length = 0;
    if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) <= 0 ||
        EVP_DigestSign(ctx.get(), nullptr, &length,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) <= 0)
        throw Error("signing a token failed");
    std::string signature(length, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) <= 0)
        throw Error("signing a token failed");
    signature.resize(length);
    return input + "." + base64url_encode(signature);
}

void TokenVerifier::add_key(KeyPtr key) {
    keys_.push_back(std::move(key));
}

void TokenVerifier::add_key_file(const std::string& path) {
    const std::string pem = read_file(path);
    std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    KeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
    if (!key) {
        BIO_reset(bio.get());
        std::unique_ptr<X509, X509Deleter> cert(
            PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
        if (cert) key.reset(X509_get_pubkey(cert.get()));
    }
    if (!key) throw Error(path + ": not a PEM public key or certificate");
    keys_.push_back(std::move(key));
}

nlohmann::json TokenVerifier::verify(const std::string& token) const {
    const size_t first = token.find('.');
    const size_t second = first == std::string::npos ? first : token.find('.', first + 1);
    if (second == std::string::npos) throw InvalidToken("token is not a JWT");
    nlohmann::json header, claims;
    try {
        header = nlohmann::json::parse(base64url_decode(token.substr(0, first)));
        claims =
            nlohmann::json::parse(base64url_decode(token.substr(first + 1, second - first - 1)));
    } catch (const nlohmann::json::exception&) {
        throw InvalidToken("token is not JSON");
    }
    const std::string alg = header.value("alg", "");
    if (alg != "RS256" && alg != "ES256")
        throw InvalidToken("unsupported token algorithm \"" + alg + "\"");
    const std::string input = token.substr(0, second);
    std::string signature = base64url_decode(token.substr(second + 1));
    if (alg == "ES256") {
        // JWS carries r||s; OpenSSL wants DER.
        if (signature.size() != 64) throw InvalidToken("bad ES256 signature length");
        std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter> sig(ECDSA_SIG_new());
        BIGNUM* r =
            BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()), 32, nullptr);
        BIGNUM* s =
            BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()) + 32, 32, nullptr);
        ECDSA_SIG_set0(sig.get(), r, s);
        unsigned char* der = nullptr;
        const int length = i2d_ECDSA_SIG(sig.get(), &der);
        signature.assign(reinterpret_cast<char*>(der), static_cast<size_t>(length));
        OPENSSL_free(der);
    }
    bool valid = false;
    for (const auto& key : keys_) {
        const int type = EVP_PKEY_base_id(key.get());
        if ((alg == "RS256") != (type == EVP_PKEY_RSA)) continue;
        std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
        if (EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) > 0 &&
            EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                             signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                             input.size()) == 1) {
            valid = true;
            break;
        }
    }
    if (!valid) throw InvalidToken("token signature does not verify");
    const auto now = static_cast<int64_t>(std::time(nullptr));
    if (!claims.is_object()) throw InvalidToken("token claims are not an object");
    if (claims.contains("exp") && claims["exp"].is_number() && claims["exp"].get<int64_t>() < now)
        throw InvalidToken("token expired");
    if (claims.contains("nbf") && claims["nbf"].is_number() &&
        claims["nbf"].get<int64_t>() > now + 60)
        throw InvalidToken("token not valid yet");
    return claims;
}

}  // namespace berth::registry
