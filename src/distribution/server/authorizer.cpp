#include "distribution/server/authorizer.hpp"

#include <algorithm>

#include "distribution/client/http.hpp"
#include "distribution/server/api_error.hpp"

namespace berth::registry {
namespace {

bool covers(const std::set<Action>& allowed, const std::vector<Action>& needed) {
    return std::all_of(needed.begin(), needed.end(),
                       [&](Action a) { return allowed.count(a) > 0; });
}

std::string token_realm(const AuthConfig& config, const RequestHead& head) {
    if (!config.token_realm.empty()) return config.token_realm;
    return head.scheme + "://" + head.header("host") + "/token";
}

}  // namespace

std::string scope_string(const AccessRequest& request) {
    if (request.catalog) return "registry:catalog:*";
    if (request.repository.empty()) return {};
    std::string scope = "repository:" + request.repository + ":";
    for (size_t i = 0; i < request.actions.size(); ++i) {
        if (i) scope += ",";
        scope += action_name(request.actions[i]);
    }
    return scope;
}

Authorizer::Authorizer(const AuthConfig& config, std::shared_ptr<const Htpasswd> htpasswd,
                       std::shared_ptr<const TokenVerifier> verifier)
    : config_(config),
      htpasswd_(std::move(htpasswd)),
      verifier_(std::move(verifier)),
      policy_(config.access, config.anonymous_read) {}

bool Authorizer::enabled() const {
    return htpasswd_ || config_.token != TokenMode::none;
}

void Authorizer::challenge(const RequestHead& head, const AccessRequest& request,
                           const std::string& message, bool insufficient) const {
    ApiError error(ErrorCode::unauthorized, message);
    if (config_.token != TokenMode::none) {
        std::string value = "Bearer realm=\"" + token_realm(config_, head) + "\",service=\"" +
                            config_.token_service + "\"";
        const std::string scope = scope_string(request);
        if (!scope.empty()) value += ",scope=\"" + scope + "\"";
        if (insufficient) value += ",error=\"insufficient_scope\"";
        error.headers.emplace_back("WWW-Authenticate", value);
    } else {
        error.headers.emplace_back("WWW-Authenticate", "Basic realm=\"berth-registry\"");
    }
    throw error;
}

std::optional<std::string> Authorizer::basic_user(const RequestHead& head) const {
    const std::string authorization = head.header("authorization");
    if (authorization.size() < 6 || strncasecmp(authorization.c_str(), "Basic ", 6) != 0)
        return std::nullopt;
    auto decoded = distribution::base64_decode(authorization.substr(6));
    // Clients without credentials answer a basic challenge with an empty user and password.
    if (decoded && *decoded == ":") return std::nullopt;
    const size_t colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos || !htpasswd_ ||
        !htpasswd_->verify(decoded->substr(0, colon), decoded->substr(colon + 1))) {
        ApiError error(ErrorCode::unauthorized, "invalid username or password");
        error.headers.emplace_back("WWW-Authenticate", "Basic realm=\"berth-registry\"");
        throw error;
    }
    return decoded->substr(0, colon);
}

Identity Authorizer::authorize(const RequestHead& head, const AccessRequest& request) const {
    if (!enabled()) return {};
    auto allowed_for = [&](const std::string& user) {
        if (request.catalog) return policy_.may_list_catalog(user);
        // The base endpoint always challenges anonymous clients, even with anonymous reads:
        // clients learn from it how to authenticate, and most never ask again later.
        if (request.repository.empty()) return !user.empty();
        return covers(policy_.allowed(user, request.repository), request.actions);
    };

    if (config_.token != TokenMode::none) {
        const std::string authorization = head.header("authorization");
        if (authorization.size() > 7 && strncasecmp(authorization.c_str(), "Bearer ", 7) == 0) {
            nlohmann::json claims;
            try {
                claims = verifier_->verify(authorization.substr(7));
            } catch (const InvalidToken& e) {
                challenge(head, request, e.what(), false);
            }
            if (claims.value("iss", "") != config_.token_issuer)
                challenge(head, request, "token from another issuer", false);
            const auto& audience = claims.contains("aud") ? claims["aud"] : nlohmann::json();
            const bool audience_ok =
                (audience.is_string() && audience.get<std::string>() == config_.token_service) ||
                (audience.is_array() && std::find(audience.begin(), audience.end(),
                                                  config_.token_service) != audience.end());
            if (!audience_ok) challenge(head, request, "token for another service", false);
            Identity identity{claims.value("sub", "")};
            if (request.repository.empty() && !request.catalog) return identity;
            std::set<Action> granted;
            if (claims.contains("access") && claims["access"].is_array()) {
                for (const auto& entry : claims["access"]) {
                    if (!entry.is_object() || !entry.contains("actions") ||
                        !entry["actions"].is_array())
                        continue;
                    const std::string type = entry.value("type", "");
                    const std::string name = entry.value("name", "");
                    if (request.catalog && type == "registry" && name == "catalog") return identity;
                    if (type != "repository" || name != request.repository) continue;
                    for (const auto& action : entry["actions"]) {
                        if (!action.is_string()) continue;
                        const std::string text = action.get<std::string>();
                        if (text == "*")
                            granted = {Action::pull, Action::push, Action::del};
                        else if (text == "pull")
                            granted.insert(Action::pull);
                        else if (text == "push")
                            granted.insert(Action::push);
                        else if (text == "delete")
                            granted.insert(Action::del);
                    }
                }
            }
            if (!request.catalog && covers(granted, request.actions)) return identity;
            challenge(head, request, "token does not grant " + scope_string(request), true);
        }
        if (allowed_for("")) return {};
        challenge(head, request, "authentication required", false);
    }

    auto user = basic_user(head);
    if (!user) {
        if (allowed_for("")) return {};
        challenge(head, request, "authentication required", false);
    }
    if (!allowed_for(*user))
        throw ApiError(ErrorCode::denied, "user " + *user + " may not " + scope_string(request));
    return Identity{*user};
}

}  // namespace berth::registry
