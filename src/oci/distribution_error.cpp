#include "oci/distribution_error.hpp"

#include <nlohmann/json.hpp>

namespace berth::oci {

std::vector<DistributionError> parse_distribution_errors(std::string_view body) {
    std::vector<DistributionError> out;
    nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
    if (!doc.is_object()) return out;
    auto errors = doc.find("errors");
    if (errors == doc.end() || !errors->is_array()) return out;
    for (const auto& e : *errors) {
        if (!e.is_object()) continue;
        DistributionError item;
        if (auto c = e.find("code"); c != e.end() && c->is_string()) item.code = *c;
        if (auto m = e.find("message"); m != e.end() && m->is_string()) item.message = *m;
        if (!item.code.empty() || !item.message.empty()) out.push_back(std::move(item));
    }
    return out;
}

std::string describe_distribution_errors(std::string_view body) {
    std::string out;
    for (const auto& e : parse_distribution_errors(body)) {
        if (!out.empty()) out += "; ";
        out += e.code;
        if (!e.message.empty()) out += (e.code.empty() ? "" : ": ") + e.message;
    }
    return out;
}

}  // namespace berth::oci
