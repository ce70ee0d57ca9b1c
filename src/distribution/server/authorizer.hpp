// Decides whether a request may go ahead: anonymous (no auth configured), HTTP basic against
// the htpasswd file, or bearer tokens (ours or an external issuer's) whose "access" claims
// must cover the repository and actions. A refusal is an ApiError: UNAUTHORIZED (401) with
// the WWW-Authenticate challenge clients follow, or DENIED (403) for a known user.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "distribution/server/access_policy.hpp"
#include "distribution/server/config.hpp"
#include "distribution/server/htpasswd.hpp"
#include "distribution/server/http_message.hpp"
#include "distribution/server/jwt.hpp"

namespace berth::registry {

struct AccessRequest {
    std::string repository;       // empty: the base endpoint or the catalog
    std::vector<Action> actions;  // empty: only "is this client authenticated"
    bool catalog = false;
};

struct Identity {
    std::string user;  // empty: anonymous
};

// "repository:NAME:pull,push"
std::string scope_string(const AccessRequest& request);

class Authorizer {
  public:
    Authorizer(const AuthConfig& config, std::shared_ptr<const Htpasswd> htpasswd,
               std::shared_ptr<const TokenVerifier> verifier);
    [[nodiscard]] bool enabled() const;
    Identity authorize(const RequestHead& head, const AccessRequest& request) const;
    // Basic credentials of a request checked against htpasswd; nullopt when absent; throws
    // UNAUTHORIZED when wrong.
    [[nodiscard]] std::optional<std::string> basic_user(const RequestHead& head) const;
    [[nodiscard]] const AccessPolicy& policy() const { return policy_; }

  private:
    [[noreturn]] void challenge(const RequestHead& head, const AccessRequest& request,
                                const std::string& message, bool insufficient) const;
    const AuthConfig& config_;
    std::shared_ptr<const Htpasswd> htpasswd_;
    std::shared_ptr<const TokenVerifier> verifier_;
    AccessPolicy policy_;
};

}  // namespace berth::registry
