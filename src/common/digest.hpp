// Content digests ("sha256:<hex>", "sha512:<hex>") and streaming hashing (OpenSSL).
#pragma once

#include <compare>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace berth {

enum class DigestAlgorithm { sha256, sha512 };

// A digest that does not follow the grammar, or uses an algorithm berth does not support.
class InvalidDigest : public Error {
  public:
    using Error::Error;
};

class Digest {
  public:
    Digest() = default;
    // "sha256:" + 64 lowercase hex digits, or "sha512:" + 128; throws InvalidDigest naming text.
    static Digest parse(std::string_view text);
    static std::optional<Digest> try_parse(std::string_view text);
    static Digest from_hex(DigestAlgorithm algorithm, std::string_view hex);

    [[nodiscard]] DigestAlgorithm algorithm() const { return algorithm_; }
    [[nodiscard]] std::string_view algorithm_name() const;
    [[nodiscard]] const std::string& hex() const { return hex_; }
    [[nodiscard]] std::string str() const;
    [[nodiscard]] bool empty() const { return hex_.empty(); }
    // The first 12 hex digits, as docker shows image ids.
    [[nodiscard]] std::string short_hex() const { return hex_.substr(0, 12); }

    friend bool operator==(const Digest&, const Digest&) = default;
    // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>
    friend auto operator<=>(const Digest&, const Digest&) = default;

  private:
    DigestAlgorithm algorithm_ = DigestAlgorithm::sha256;
    std::string hex_;
};

// Incremental hash; finish() may be called once.
class Hasher {
  public:
    explicit Hasher(DigestAlgorithm algorithm = DigestAlgorithm::sha256);
    ~Hasher();
    Hasher(Hasher&&) noexcept;
    Hasher& operator=(Hasher&&) noexcept;
    Hasher(const Hasher&) = delete;
    Hasher& operator=(const Hasher&) = delete;

    void update(const void* data, size_t size);
    void update(std::string_view data) { update(data.data(), data.size()); }
    Digest finish();
    [[nodiscard]] DigestAlgorithm algorithm() const { return algorithm_; }

  private:
    struct Context;
    std::unique_ptr<Context> context_;
    DigestAlgorithm algorithm_;
};

Digest digest_of(std::string_view data, DigestAlgorithm algorithm = DigestAlgorithm::sha256);

}  // namespace berth
