#include "distribution/server/token_issuer.hpp"

#include <ctime>
#include <nlohmann/json.hpp>
#include <random>

#include "common/strings.hpp"
#include "common/time.hpp"
#include "distribution/client/http.hpp"
#include "distribution/server/api_error.hpp"

namespace berth::registry {
namespace {

std::string random_id() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    return std::to_string(rng()) + std::to_string(rng());
}

ApiError bad_credentials() {
    ApiError error(ErrorCode::unauthorized, "invalid username or password");
    error.headers.emplace_back("WWW-Authenticate", "Basic realm=\"berth-registry-token\"");
    return error;
}

}  // namespace

TokenIssuer::TokenIssuer(const AuthConfig& config, const Htpasswd* htpasswd,
                         const AccessPolicy& policy, const TokenSigner& signer)
    : config_(config), htpasswd_(htpasswd), policy_(policy), signer_(signer) {}

Response TokenIssuer::issue(const RequestHead& head,
                            const std::multimap<std::string, std::string>& form) const {
    std::string user;
    const std::string authorization = head.header("authorization");
    auto form_value = [&](const std::string& key) {
        auto it = form.find(key);
        return it == form.end() ? std::string() : it->second;
    };
    if (authorization.size() > 6 && strncasecmp(authorization.c_str(), "Basic ", 6) == 0) {
        auto decoded = distribution::base64_decode(authorization.substr(6));
        const size_t colon = decoded ? decoded->find(':') : std::string::npos;
        if (colon == std::string::npos || !htpasswd_ ||
            !htpasswd_->verify(decoded->substr(0, colon), decoded->substr(colon + 1)))
            throw bad_credentials();
        user = decoded->substr(0, colon);
    } else if (form_value("grant_type") == "password") {
        user = form_value("username");
        if (!htpasswd_ || !htpasswd_->verify(user, form_value("password"))) throw bad_credentials();
    }

    nlohmann::json access = nlohmann::json::array();
    auto [first, last] = form.equal_range("scope");
    for (auto it = first; it != last; ++it) {
        // A parameter may hold several space-separated scopes.
        for (const auto& scope : split(it->second, ' ')) {
            const auto parts = split(scope, ':');
            if (parts.size() < 3) continue;
            const std::string& type = parts[0];
            const std::string& actions_text = parts.back();
            std::string name =
                scope.substr(type.size() + 1, scope.size() - type.size() - actions_text.size() - 2);
            nlohmann::json granted = nlohmann::json::array();
            if (type == "registry" && name == "catalog") {
                if (policy_.may_list_catalog(user)) granted.push_back("*");
            } else if (type == "repository") {
                const auto allowed = policy_.allowed(user, name);
                for (const auto& action : split(actions_text, ',')) {
                    try {
                        if (action == "*") {
                            if (allowed.size() == 3) granted.push_back("*");
                        } else if (allowed.count(parse_action(action))) {
                            granted.push_back(action);
                        }
                    } catch (const Error&) {
                    }
                }
            } else {
                continue;
            }
            access.push_back({{"type", type}, {"name", name}, {"actions", granted}});
        }
    }

    const auto now = static_cast<int64_t>(std::time(nullptr));
    const nlohmann::json claims{
        {"iss", config_.token_issuer},
        {"sub", user},
        {"aud", form_value("service").empty() ? config_.token_service : form_value("service")},
        {"exp", now + config_.token_expiry.count()},
        {"nbf", now - 10},
        {"iat", now},
        {"jti", random_id()},
        {"access", access}};
    const std::string token = signer_.sign(claims);
    const nlohmann::json body{{"token", token},
                              {"access_token", token},
                              {"expires_in", config_.token_expiry.count()},
                              {"issued_at", rfc3339_now()}};
    Response response;
    response.header("Content-Type", "application/json");
    response.body = body.dump();
    return response;
}

}  // namespace berth::registry
