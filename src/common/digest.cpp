#include "common/digest.hpp"

#include <openssl/evp.h>

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
    EVP_MD_CTX* ctx = nullptr;
    ~Context() { EVP_MD_CTX_free(ctx); }
};

Hasher::Hasher(DigestAlgorithm algorithm)
    : context_(std::make_unique<Context>()), algorithm_(algorithm) {
    context_->ctx = EVP_MD_CTX_new();
    const EVP_MD* md = algorithm == DigestAlgorithm::sha256 ? EVP_sha256() : EVP_sha512();
    if (!context_->ctx || EVP_DigestInit_ex(context_->ctx, md, nullptr) != 1)
        throw Error("hash: cannot initialise the digest context");
}

Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::update(const void* data, size_t size) {
    if (size && EVP_DigestUpdate(context_->ctx, data, size) != 1)
        throw Error("hash: update failed");
}

Digest Hasher::finish() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(context_->ctx, out, &length) != 1) throw Error("hash: final failed");
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
