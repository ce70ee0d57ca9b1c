// An htpasswd file of bcrypt hashes ($2y$, $2b$, $2a$, as `htpasswd -B` writes them),
// checked with crypt(3) from libxcrypt. bcrypt is slow on purpose, so a password that
// matched once is remembered (as its SHA-256) and later requests skip the hash.
#pragma once

#include <map>
#include <mutex>
#include <string>

namespace berth::registry {

class Htpasswd {
  public:
    // Throws Error naming the file and line of an entry that is not user:bcrypt-hash.
    explicit Htpasswd(const std::string& path);
    Htpasswd(const Htpasswd&) = delete;
    Htpasswd& operator=(const Htpasswd&) = delete;

    [[nodiscard]] bool verify(const std::string& user, const std::string& password) const;
    [[nodiscard]] size_t size() const { return hashes_.size(); }

  private:
    std::map<std::string, std::string> hashes_;
    mutable std::mutex mutex_;
    mutable std::map<std::string, std::string> verified_;  // user -> sha256 of the password
};

}  // namespace berth::registry
