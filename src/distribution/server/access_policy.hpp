// Which actions a user may take on a repository, from the [[auth.access]] rules. Without
// rules every authenticated user may do everything; anonymous users may pull when
// anonymous reads are on.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "distribution/server/config.hpp"

namespace berth::registry {

class AccessPolicy {
  public:
    AccessPolicy(std::vector<AccessRule> rules, bool anonymous_read);
    // user: empty for anonymous.
    [[nodiscard]] std::set<Action> allowed(const std::string& user,
                                           const std::string& repository) const;
    // The catalog lists every name: authenticated users, or anyone with anonymous reads.
    [[nodiscard]] bool may_list_catalog(const std::string& user) const;

  private:
    std::vector<AccessRule> rules_;
    bool anonymous_read_;
};

bool repository_matches(const std::string& pattern, const std::string& repository);

}  // namespace berth::registry
