// A pull under the signature policy: the entry point for every verb that brings an image in
// from a registry (pull, run/create with a missing image, build's FROM, kube play).
//
//   trust::PolicyEnforcer enforcer = trust::PolicyEnforcer::load(settings);   // once
//   distribution::PullResult r =
//       trust::pull_with_policy(images, registry, ref, options, enforcer);
//
// The policy is checked once the manifest (and, for an index, the platform's manifest) is
// fetched and before anything is stored: an image the policy rejects leaves no blob, no
// snapshot and no name (PolicyRejected names the image, the scope and why). An image already
// here is checked too (by the digest its tag resolves to now).
#pragma once

#include "distribution/client/pull.hpp"
#include "trust/policy_check.hpp"

namespace berth::trust {

distribution::PullResult pull_with_policy(image::Images& images, distribution::Registry& registry,
                                          const image::Reference& ref,
                                          distribution::PullOptions options,
                                          const PolicyEnforcer& enforcer);

}  // namespace berth::trust
