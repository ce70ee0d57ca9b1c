#include "trust/policy_pull.hpp"

namespace berth::trust {

distribution::PullResult pull_with_policy(image::Images& images, distribution::Registry& registry,
                                          const image::Reference& ref,
                                          distribution::PullOptions options,
                                          const PolicyEnforcer& enforcer) {
    if (!enforcer.accepts_anything(ref)) {
        options.admit = [&](const Digest& manifest, const std::optional<Digest>& instance) {
            enforcer.check(registry, ref, manifest, instance);
        };
    }
    return distribution::pull_image(images, registry, ref, options);
}

}  // namespace berth::trust
