#include "distribution/server/htpasswd.hpp"

#include <crypt.h>
#include <openssl/crypto.h>

#include <memory>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/file.hpp"
#include "common/strings.hpp"

namespace berth::registry {
namespace {

bool is_bcrypt(std::string_view hash) {
    return hash.size() == 60 &&
           (hash.starts_with("$2y$") || hash.starts_with("$2b$") || hash.starts_with("$2a$"));
}

bool equal_constant_time(const std::string& a, const std::string& b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

Htpasswd::Htpasswd(const std::string& path) {
    const std::string text = read_file(path);
    int line_number = 0;
    for (const auto& raw : split(text, '\n')) {
        ++line_number;
        const std::string_view line = trim(raw);
        if (line.empty() || line[0] == '#') continue;
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0)
            throw Error(path + ":" + std::to_string(line_number) + ": expected user:hash");
        const std::string hash(line.substr(colon + 1));
        if (!is_bcrypt(hash))
            throw Error(path + ":" + std::to_string(line_number) +
                        ": only bcrypt hashes are supported (htpasswd -B)");
        hashes_[std::string(line.substr(0, colon))] = hash;
    }
}

bool Htpasswd::verify(const std::string& user, const std::string& password) const {
    auto it = hashes_.find(user);
    if (it == hashes_.end()) return false;
    const std::string fingerprint = digest_of(user + '\0' + password).hex();
    {
        std::lock_guard lock(mutex_);
        auto seen = verified_.find(user);
        if (seen != verified_.end() && equal_constant_time(seen->second, fingerprint)) return true;
    }
    auto data = std::make_unique<crypt_data>();
    const char* result = ::crypt_r(password.c_str(), it->second.c_str(), data.get());
    if (!result || !equal_constant_time(result, it->second)) return false;
    std::lock_guard lock(mutex_);
    verified_[user] = fingerprint;
    return true;
}

}  // namespace berth::registry
