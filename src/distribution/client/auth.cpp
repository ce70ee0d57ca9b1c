#include "distribution/client/auth.hpp"

#include <cctype>
#include <nlohmann/json.hpp>

#include "distribution/client/registry_error.hpp"
#include "oci/distribution_error.hpp"

namespace berth::distribution {
namespace {

std::string lower(std::string s) {
    for (auto& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

void skip_spaces(std::string_view text, size_t& i) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t'))
        ++i;
}

std::string read_token(std::string_view text, size_t& i) {
    size_t start = i;
    while (i < text.size() && text[i] != '=' && text[i] != ',' && text[i] != ' ' && text[i] != '\t')
        ++i;
    return std::string(text.substr(start, i - start));
}

std::string read_value(std::string_view text, size_t& i) {
    if (i < text.size() && text[i] == '"') {
        std::string out;
        ++i;
        while (i < text.size() && text[i] != '"') {
            if (text[i] == '\\' && i + 1 < text.size()) ++i;
            out += text[i++];
        }
        if (i < text.size()) ++i;  // closing quote
        return out;
    }
    size_t start = i;
    while (i < text.size() && text[i] != ',' && text[i] != ' ')
        ++i;
    return std::string(text.substr(start, i - start));
}

}  // namespace

std::vector<Challenge> parse_www_authenticate(std::string_view text) {
    std::vector<Challenge> out;
    size_t i = 0;
    while (i < text.size()) {
        skip_spaces(text, i);
        while (i < text.size() && text[i] == ',') {
            ++i;
            skip_spaces(text, i);
        }
        if (i >= text.size()) break;
        std::string word = read_token(text, i);
        skip_spaces(text, i);
        if (i < text.size() && text[i] == '=') {
            // A parameter of the current challenge.
            ++i;
            skip_spaces(text, i);
            std::string value = read_value(text, i);
            if (!out.empty()) out.back().params[lower(word)] = value;
        } else if (!word.empty()) {
            out.push_back({lower(word), {}});
        }
    }
    return out;
}

Authenticator::Authenticator(HttpClient& http, std::string registry,
                             std::optional<Credentials> credentials, bool verify_tls,
                             std::string ca_file)
    : http_(http),
      registry_(std::move(registry)),
      credentials_(std::move(credentials)),
      verify_tls_(verify_tls),
      ca_file_(std::move(ca_file)) {}

void Authenticator::challenged(const HttpResponse& response) {
    auto header = response.header("www-authenticate");
    if (!header) return;
    std::lock_guard lock(mutex_);
    for (auto& c : parse_www_authenticate(*header)) {
        if (c.scheme == "bearer" || c.scheme == "basic") {
            // A bearer challenge may carry the scope the registry wanted; ours is per request.
            c.params.erase("scope");
            c.params.erase("error");
            challenge_ = std::move(c);
            return;
        }
    }
}

bool Authenticator::has_challenge() const {
    return challenge_.has_value();
}

void Authenticator::invalidate(const std::string& scope) {
    std::lock_guard lock(mutex_);
    tokens_.erase(scope);
}

std::string Authenticator::header_for(const std::string& scope) {
    std::lock_guard lock(mutex_);
    if (!challenge_) return {};
    if (challenge_->scheme == "basic") {
        if (!credentials_ || credentials_->username.empty()) return {};
        return "Authorization: Basic " +
               base64_encode(credentials_->username + ":" + credentials_->password);
    }
    auto now = std::chrono::steady_clock::now();
    if (auto it = tokens_.find(scope); it != tokens_.end() && it->second.expires > now)
        return "Authorization: Bearer " + it->second.value;

    std::string realm = challenge_->params["realm"];
    if (realm.empty())
        throw RegistryError(401, "UNAUTHORIZED", registry_ + ": bearer challenge without a realm");
    HttpRequest request;
    request.verify_tls = verify_tls_;
    request.ca_file = ca_file_;
    std::string service = challenge_->params["service"];
    if (credentials_ && !credentials_->identity_token.empty()) {
        // OAuth2 refresh-token grant, as docker does with an identity token.
        request.method = "POST";
        request.url = realm;
        request.headers.emplace_back("Content-Type: application/x-www-form-urlencoded");
        request.body = "grant_type=refresh_token&client_id=berth&refresh_token=" +
                       url_escape(credentials_->identity_token) + "&service=" + url_escape(service);
        if (!scope.empty()) request.body += "&scope=" + url_escape(scope);
    } else {
        request.url = realm + (realm.find('?') == std::string::npos ? "?" : "&");
        request.url += "service=" + url_escape(service);
        size_t start = 0;
        while (start < scope.size()) {
            size_t space = scope.find(' ', start);
            if (space == std::string::npos) space = scope.size();
            request.url += "&scope=" + url_escape(scope.substr(start, space - start));
            start = space + 1;
        }
        if (credentials_ && !credentials_->username.empty())
            request.headers.push_back(
                "Authorization: Basic " +
                base64_encode(credentials_->username + ":" + credentials_->password));
    }
    HttpResponse response = http_.perform(request);
    if (response.status != 200) {
        std::string detail = oci::describe_distribution_errors(response.body);
        throw RegistryError(
            response.status, response.status == 401 ? "UNAUTHORIZED" : "",
            registry_ + ": token request to " + realm + " failed: HTTP " +
                std::to_string(response.status) + (detail.empty() ? "" : " (" + detail + ")") +
                (credentials_ ? "" : "; log in with `berth login " + registry_ + "`"));
    }
    nlohmann::json doc = nlohmann::json::parse(response.body, nullptr, false);
    std::string token;
    if (doc.is_object()) {
        if (doc.contains("token") && doc["token"].is_string()) token = doc["token"];
        if (token.empty() && doc.contains("access_token") && doc["access_token"].is_string())
            token = doc["access_token"];
    }
    if (token.empty())
        throw RegistryError(response.status, "",
                            registry_ + ": the token response from " + realm + " has no token");
    int64_t lifetime = 60;
    if (doc.contains("expires_in") && doc["expires_in"].is_number_integer())
        lifetime = std::max<int64_t>(doc["expires_in"].get<int64_t>(), 10);
    tokens_[scope] = {token, now + std::chrono::seconds(lifetime - 5)};
    return "Authorization: Bearer " + token;
}

}  // namespace berth::distribution
