#include "distribution/server/access_policy.hpp"

namespace berth::registry {

bool repository_matches(const std::string& pattern, const std::string& repository) {
    if (!pattern.empty() && pattern.back() == '*')
        return repository.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
    return pattern == repository;
}

AccessPolicy::AccessPolicy(std::vector<AccessRule> rules, bool anonymous_read)
    : rules_(std::move(rules)), anonymous_read_(anonymous_read) {}

std::set<Action> AccessPolicy::allowed(const std::string& user,
                                       const std::string& repository) const {
    std::set<Action> actions;
    if (anonymous_read_) actions.insert(Action::pull);
    if (rules_.empty()) {
        if (!user.empty()) actions = {Action::pull, Action::push, Action::del};
        return actions;
    }
    for (const auto& rule : rules_) {
        const bool user_matches =
            user.empty() ? rule.user == "anonymous" : (rule.user == "*" || rule.user == user);
        if (user_matches && repository_matches(rule.repository, repository))
            actions.insert(rule.actions.begin(), rule.actions.end());
    }
    return actions;
}

bool AccessPolicy::may_list_catalog(const std::string& user) const {
    return anonymous_read_ || !user.empty();
}

}  // namespace berth::registry
