#include "common/digest.hpp"

// OpenSSL's SHA-2 functions, not EVP: the first EVP digest of a process initialises the
// provider store and its table of every algorithm's names (about a millisecond here, for
// each `berth run` that reads a manifest). The functions are deprecated in OpenSSL 3 in
// favour of EVP but remain, and run the same assembly (SHA-NI where the CPU has it).
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <utility>

namespace berth {
namespace {

size_t hex_length(DigestAlgorithm algorithm) {
    return algorithm == DigestAlgorithm::sha256 ? 64 : 128;
}

bool is_lower_hex(std::string_view text) {
    for (char c : text)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

// The OCI grammar: algorithm-component ([+._-] algorithm-component)*, ':' then [a-zA-Z0-9=_-]+.
bool well_formed(std::string_view algorithm, std::string_view encoded) {
    if (algorithm.empty() || encoded.empty()) return false;
    bool after_separator = true;
    for (char c : algorithm) {
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        bool separator = c == '+' || c == '.' || c == '_' || c == '-';
        if (!alnum && !separator) return false;
        if (separator && after_separator) return false;
        after_separator = separator;
    }
    if (after_separator) return false;
    for (char c : encoded) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '=' || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

[[noreturn]] void invalid(std::string_view text, const std::string& why) {
    throw InvalidDigest("invalid digest \"" + std::string(text) + "\": " + why);
}

}  // namespace

std::optional<Digest> Digest::try_parse(std::string_view text) {
    try {
        return parse(text);
    } catch (const InvalidDigest&) {
        return std::nullopt;
    }
}

Digest Digest::parse(std::string_view text) {
    auto fail = [text](const std::string& why) { invalid(text, why); };
    size_t colon = text.find(':');
    if (colon == std::string_view::npos) fail("expected ALGORITHM:HEX");
    std::string_view algorithm = text.substr(0, colon);
    std::string_view encoded = text.substr(colon + 1);
    if (!well_formed(algorithm, encoded)) fail("does not match the digest grammar");
    Digest digest;
    if (algorithm == "sha256") {
        digest.algorithm_ = DigestAlgorithm::sha256;
    } else if (algorithm == "sha512") {
        digest.algorithm_ = DigestAlgorithm::sha512;
    } else {
        fail("unsupported algorithm " + std::string(algorithm));
    }
    if (encoded.size() != hex_length(digest.algorithm_) || !is_lower_hex(encoded))
        fail("expected " + std::to_string(hex_length(digest.algorithm_)) +
             " lowercase hex digits for " + std::string(algorithm));
    digest.hex_ = encoded;
    return digest;
}

Digest Digest::from_hex(DigestAlgorithm algorithm, std::string_view hex) {
    return parse(std::string(algorithm == DigestAlgorithm::sha256 ? "sha256:" : "sha512:") +
                 std::string(hex));
}

std::string_view Digest::algorithm_name() const {
    return algorithm_ == DigestAlgorithm::sha256 ? "sha256" : "sha512";
}

std::string Digest::str() const {
    return std::string(algorithm_name()) + ":" + hex_;
}

struct Hasher::Context {
    SHA256_CTX sha256{};
    SHA512_CTX sha512{};
};

Hasher::Hasher(DigestAlgorithm algorithm)
    : context_(std::make_unique<Context>()), algorithm_(algorithm) {
    int ok = algorithm == DigestAlgorithm::sha256 ? SHA256_Init(&context_->sha256)
                                                  : SHA512_Init(&context_->sha512);
    if (ok != 1) throw Error("hash: cannot initialise the digest context");
}

Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::update(const void* data, size_t size) {
    if (size == 0) return;
    int ok = algorithm_ == DigestAlgorithm::sha256 ? SHA256_Update(&context_->sha256, data, size)
                                                   : SHA512_Update(&context_->sha512, data, size);
    if (ok != 1) throw Error("hash: update failed");
}

Digest Hasher::finish() {
    unsigned char out[SHA512_DIGEST_LENGTH];
    unsigned int length =
        algorithm_ == DigestAlgorithm::sha256 ? SHA256_DIGEST_LENGTH : SHA512_DIGEST_LENGTH;
    int ok = algorithm_ == DigestAlgorithm::sha256 ? SHA256_Final(out, &context_->sha256)
                                                   : SHA512_Final(out, &context_->sha512);
    if (ok != 1) throw Error("hash: final failed");
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(length * 2);
    for (unsigned i = 0; i < length; ++i) {
        hex += kHex[out[i] >> 4];
        hex += kHex[out[i] & 15];
    }
    return Digest::from_hex(algorithm_, hex);
}

Digest digest_of(std::string_view data, DigestAlgorithm algorithm) {
    Hasher hasher(algorithm);
    hasher.update(data);
    return hasher.finish();
}

}  // namespace berth
