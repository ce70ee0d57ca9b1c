// The built-in token endpoint (docker's token authentication spec): GET /token with
// service and scope parameters (or an OAuth2 password grant POSTed as a form), basic
// credentials checked against htpasswd, and a signed JWT back granting the requested
// actions the access policy allows - possibly none, as docker's own issuers do.
#pragma once

#include <string>

#include "distribution/server/access_policy.hpp"
#include "distribution/server/config.hpp"
#include "distribution/server/htpasswd.hpp"
#include "distribution/server/http_message.hpp"
#include "distribution/server/jwt.hpp"

namespace berth::registry {

class TokenIssuer {
  public:
    TokenIssuer(const AuthConfig& config, const Htpasswd* htpasswd, const AccessPolicy& policy,
                const TokenSigner& signer);
    // query: the GET parameters, or the POSTed form; throws ApiError UNAUTHORIZED on bad
    // credentials.
    Response issue(const RequestHead& head,
                   const std::multimap<std::string, std::string>& form) const;

  private:
    const AuthConfig& config_;
    const Htpasswd* htpasswd_;
    const AccessPolicy& policy_;
    const TokenSigner& signer_;
};

}  // namespace berth::registry
