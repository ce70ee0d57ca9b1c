#include "common/json_reader.hpp"

namespace berth {

void invalid_document(std::string_view what, const std::string& why) {
    throw InvalidDocument(std::string(what) + ": " + why);
}

nlohmann::json parse_json(const std::string& text, const std::string& what) {
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        // nlohmann's message is "[json.exception.parse_error.101] parse error at line 1, ...".
        std::string message = e.what();
        if (auto pos = message.find("] "); pos != std::string::npos) message.erase(0, pos + 2);
        throw InvalidDocument(what + ": invalid JSON: " + message);
    }
}

bool JsonReader::has(const std::string& key) const {
    require_object();
    auto it = node_->find(key);
    return it != node_->end() && !it->is_null();
}

std::optional<JsonReader> JsonReader::find(const std::string& key) const {
    require_object();
    auto it = node_->find(key);
    if (it == node_->end() || it->is_null()) return std::nullopt;
    return JsonReader(*it, path_.empty() ? key : path_ + "." + key);
}

JsonReader JsonReader::at(const std::string& key) const {
    auto field = find(key);
    if (!field) {
        JsonReader(*node_, path_.empty() ? key : path_ + "." + key)
            .fail("required field is missing");
    }
    return *field;
}

const char* JsonReader::type_name() const {
    return node_->type_name();
}

void JsonReader::fail(const std::string& why) const {
    throw InvalidDocument((path_.empty() ? std::string("document") : path_) + ": " + why);
}

void JsonReader::require_object() const {
    if (!node_->is_object()) fail(std::string("expected an object, got ") + type_name());
}

std::string JsonReader::as_string() const {
    if (!node_->is_string()) fail(std::string("expected a string, got ") + type_name());
    return node_->get<std::string>();
}

bool JsonReader::as_bool() const {
    if (!node_->is_boolean()) fail(std::string("expected a boolean, got ") + type_name());
    return node_->get<bool>();
}

int64_t JsonReader::as_int(int64_t min, int64_t max) const {
    int64_t value;
    if (node_->is_number_unsigned()) {
        uint64_t u = node_->get<uint64_t>();
        if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            fail("value " + std::to_string(u) + " is out of range");
        value = static_cast<int64_t>(u);
    } else if (node_->is_number_integer()) {
        value = node_->get<int64_t>();
    } else {
        fail(std::string("expected an integer, got ") + type_name());
    }
    if (value < min || value > max)
        fail("value " + std::to_string(value) + " is out of range [" + std::to_string(min) + ", " +
             std::to_string(max) + "]");
    return value;
}

uint64_t JsonReader::as_uint(uint64_t max) const {
    if (node_->is_number_integer() && !node_->is_number_unsigned() && node_->get<int64_t>() < 0)
        fail("value " + std::to_string(node_->get<int64_t>()) + " must not be negative");
    if (!node_->is_number_unsigned() && !node_->is_number_integer())
        fail(std::string("expected a non-negative integer, got ") + type_name());
    uint64_t value = node_->get<uint64_t>();
    if (value > max)
        fail("value " + std::to_string(value) + " is out of range [0, " + std::to_string(max) +
             "]");
    return value;
}

std::vector<JsonReader> JsonReader::as_array() const {
    if (!node_->is_array()) fail(std::string("expected an array, got ") + type_name());
    std::vector<JsonReader> items;
    items.reserve(node_->size());
    for (size_t i = 0; i < node_->size(); ++i)
        items.emplace_back((*node_)[i], path_ + "[" + std::to_string(i) + "]");
    return items;
}

std::vector<std::string> JsonReader::as_string_array() const {
    std::vector<std::string> out;
    for (const auto& item : as_array())
        out.push_back(item.as_string());
    return out;
}

std::map<std::string, std::string> JsonReader::as_string_map() const {
    std::map<std::string, std::string> out;
    for (const auto& [key, value] : as_object())
        out.emplace(key, value.as_string());
    return out;
}

std::vector<std::pair<std::string, JsonReader>> JsonReader::as_object() const {
    require_object();
    std::vector<std::pair<std::string, JsonReader>> out;
    for (auto it = node_->begin(); it != node_->end(); ++it)
        out.emplace_back(it.key(), JsonReader(it.value(), path_ + "." + it.key()));
    return out;
}

std::string JsonReader::string_or(const std::string& key, const std::string& fallback) const {
    auto field = find(key);
    return field ? field->as_string() : fallback;
}

bool JsonReader::bool_or(const std::string& key, bool fallback) const {
    auto field = find(key);
    return field ? field->as_bool() : fallback;
}

std::optional<int64_t> JsonReader::opt_int(const std::string& key, int64_t min, int64_t max) const {
    auto field = find(key);
    if (!field) return std::nullopt;
    return field->as_int(min, max);
}

std::optional<uint64_t> JsonReader::opt_uint(const std::string& key, uint64_t max) const {
    auto field = find(key);
    if (!field) return std::nullopt;
    return field->as_uint(max);
}

std::vector<std::string> JsonReader::string_array_or_empty(const std::string& key) const {
    auto field = find(key);
    return field ? field->as_string_array() : std::vector<std::string>{};
}

}  // namespace berth
