// Image indexes: OCI image index v1 and Docker's manifest list, strictly parsed.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oci/descriptor.hpp"

namespace berth::oci {

struct Index {
    int schema_version = 2;
    std::string media_type;  // empty when absent
    std::string artifact_type;
    std::vector<Descriptor> manifests;
    std::optional<Descriptor> subject;
    std::map<std::string, std::string> annotations;
};

Index parse_index(std::string_view bytes, std::string_view what);
nlohmann::ordered_json to_json(const Index& index);

}  // namespace berth::oci
