#include "trust/encrypted_key.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <sodium.h>

#include <nlohmann/json.hpp>

#include "common/json_reader.hpp"
#include "distribution/client/http.hpp"

namespace berth::trust {
namespace {

constexpr uint64_t kScryptN = 32768;  // go-securesystemslib's (and so cosign's) parameters
constexpr uint64_t kScryptR = 8;
constexpr uint64_t kScryptP = 1;
constexpr size_t kSaltSize = 32;
constexpr size_t kKeySize = crypto_secretbox_KEYBYTES;  // 32

// A key to be wiped when it goes.
class SecretKey {
  public:
    SecretKey() = default;
    SecretKey(const SecretKey&) = delete;
    SecretKey& operator=(const SecretKey&) = delete;
    ~SecretKey() { OPENSSL_cleanse(bytes_, sizeof bytes_); }
    unsigned char* data() { return bytes_; }

  private:
    unsigned char bytes_[kKeySize] = {};
};

void derive(std::string_view password, std::string_view salt, uint64_t n, uint64_t r, uint64_t p,
            SecretKey& key, const std::string& what) {
    // scrypt needs 128 * r * N bytes (32 MiB with cosign's parameters), over OpenSSL's default
    // limit of 32 MiB once its bookkeeping is added.
    uint64_t maxmem = 128 * r * (n + p + 2) + (1 << 20);
    if (EVP_PBE_scrypt(password.data(), password.size(),
                       reinterpret_cast<const unsigned char*>(salt.data()), salt.size(), n, r, p,
                       maxmem, key.data(), kKeySize) != 1)
        throw KeyError(what + ": scrypt key derivation failed");
}

void init_sodium() {
    static const int rc = sodium_init();
    if (rc < 0) throw Error("libsodium failed to initialise");
}

std::string decode_field(const JsonReader& field, size_t exact_size) {
    auto bytes = distribution::base64_decode(field.as_string());
    if (!bytes) field.fail("not valid base64");
    if (exact_size && bytes->size() != exact_size)
        field.fail("must be " + std::to_string(exact_size) + " bytes, is " +
                   std::to_string(bytes->size()));
    return *bytes;
}

}  // namespace

std::string encrypt_private_key(const PrivateKey& key, std::string_view password) {
    init_sodium();
    std::string salt(kSaltSize, '\0');
    std::string nonce(crypto_secretbox_NONCEBYTES, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), kSaltSize) != 1 ||
        RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()),
                   static_cast<int>(nonce.size())) != 1)
        throw Error("no random bytes for the key's encryption");
    SecretKey secret;
    derive(password, salt, kScryptN, kScryptR, kScryptP, secret, "the new key");
    std::string plain = key.pkcs8_der();
    std::string sealed(plain.size() + crypto_secretbox_MACBYTES, '\0');
    crypto_secretbox_easy(reinterpret_cast<unsigned char*>(sealed.data()),
                          reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
                          reinterpret_cast<const unsigned char*>(nonce.data()), secret.data());
    OPENSSL_cleanse(plain.data(), plain.size());
    nlohmann::ordered_json doc = {
        {"kdf",
         {{"name", "scrypt"},
          {"params", {{"N", kScryptN}, {"r", kScryptR}, {"p", kScryptP}}},
          {"salt", distribution::base64_encode(salt)}}},
        {"cipher", {{"name", "nacl/secretbox"}, {"nonce", distribution::base64_encode(nonce)}}},
        {"ciphertext", distribution::base64_encode(sealed)}};
    return write_pem(kSigstorePrivateKeyLabel, doc.dump());
}

PrivateKey decrypt_private_key(std::string_view pem, std::string_view password,
                               const std::string& what) {
    init_sodium();
    PemBlock block = read_pem(pem, what);
    if (block.label != kSigstorePrivateKeyLabel && block.label != kCosignPrivateKeyLabel)
        throw KeyError(what + ": not an encrypted sigstore private key (the PEM block is \"" +
                       block.label + "\", expected \"" + std::string(kSigstorePrivateKeyLabel) +
                       "\")");
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(block.data);
    } catch (const nlohmann::json::exception&) {
        throw KeyError(what + ": the encrypted key is not the JSON cosign writes");
    }
    try {
        JsonReader r(doc, what);
        JsonReader kdf = r.at("kdf");
        if (kdf.at("name").as_string() != "scrypt")
            kdf.at("name").fail("unsupported key derivation (only scrypt)");
        JsonReader params = kdf.at("params");
        // Bounded so that a crafted file cannot ask for gigabytes or hours.
        uint64_t n = params.at("N").as_uint(uint64_t{1} << 20);
        uint64_t r_param = params.at("r").as_uint(32);
        uint64_t p = params.at("p").as_uint(16);
        if (n < 2 || (n & (n - 1)) != 0) params.at("N").fail("must be a power of two");
        if (r_param == 0 || p == 0) params.fail("r and p must be positive");
        std::string salt = decode_field(kdf.at("salt"), 0);
        JsonReader cipher = r.at("cipher");
        if (cipher.at("name").as_string() != "nacl/secretbox")
            cipher.at("name").fail("unsupported cipher (only nacl/secretbox)");
        std::string nonce = decode_field(cipher.at("nonce"), crypto_secretbox_NONCEBYTES);
        std::string sealed = decode_field(r.at("ciphertext"), 0);
        if (sealed.size() < crypto_secretbox_MACBYTES) r.at("ciphertext").fail("too short");
        SecretKey secret;
        derive(password, salt, n, r_param, p, secret, what);
        std::string plain(sealed.size() - crypto_secretbox_MACBYTES, '\0');
        if (crypto_secretbox_open_easy(
                reinterpret_cast<unsigned char*>(plain.data()),
                reinterpret_cast<const unsigned char*>(sealed.data()), sealed.size(),
                reinterpret_cast<const unsigned char*>(nonce.data()), secret.data()) != 0)
            throw KeyError(what + ": wrong password (the key does not decrypt)");
        PrivateKey key = private_key_from_pkcs8(plain, what);
        OPENSSL_cleanse(plain.data(), plain.size());
        return key;
    } catch (const InvalidDocument& e) {
        throw KeyError(e.what());
    }
}

}  // namespace berth::trust
