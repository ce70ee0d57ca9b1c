// containers-policy.json's signedIdentity: how the identity a signature names
// (critical.identity.docker-reference) must relate to the reference being pulled.
//   matchExact              the same reference, tag or digest included
//   matchRepoDigestOrExact  pulled by digest: the same repository; by tag: the same reference
//   matchRepository         the same repository
//   exactReference          the signature names exactly dockerReference
//   exactRepository         the signature's repository is dockerRepository
//   remapIdentity           the pulled reference with prefix replaced by signedPrefix, then
//                           matchRepoDigestOrExact
#pragma once

#include <string>

#include "common/json_reader.hpp"
#include "image/reference.hpp"

namespace berth::trust {

struct SignedIdentity {
    enum class Type {
        match_exact,
        match_repo_digest_or_exact,
        match_repository,
        exact_reference,
        exact_repository,
        remap_identity
    };
    Type type = Type::match_repo_digest_or_exact;
    std::string docker_reference;   // exactReference
    std::string docker_repository;  // exactRepository
    std::string prefix, signed_prefix;

    // True when a signature naming signed may stand for image.
    [[nodiscard]] bool matches(const image::Reference& image,
                               const image::Reference& signed_ref) const;
    [[nodiscard]] std::string describe() const;
};

// Parses a signedIdentity object strictly (unknown types and fields are errors).
SignedIdentity parse_signed_identity(const JsonReader& r);

// A signature's docker-reference, normalized as docker does ("busybox" ->
// docker.io/library/busybox).
image::Reference parse_signed_reference(const std::string& text);

}  // namespace berth::trust
