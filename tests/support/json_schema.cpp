#include "tests/support/json_schema.h"

#include <algorithm>
#include <cmath>
#include <regex>
#include <set>

namespace leadscore::testing {
namespace {

using nlohmann::json;

const std::set<std::string> kAnnotations = {"description", "default", "example",   "examples",
                                            "title",       "format",  "deprecated"};
const std::set<std::string> kKeywords = {
    "type",          "properties", "required", "additionalProperties",
    "minProperties", "enum",       "items",    "$ref",
    "allOf",         "oneOf",      "anyOf",    "minimum",
    "maximum",       "pattern"};

bool has_type(const json& value, const std::string& type) {
  if (type == "null") return value.is_null();
  if (type == "boolean") return value.is_boolean();
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "string") return value.is_string();
  if (type == "number") return value.is_number();
  if (type == "integer")
    return value.is_number_integer() ||
           (value.is_number_float() && std::trunc(value.get<double>()) == value.get<double>());
  return false;
}

std::string shown(const json& value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  return text.size() > 80 ? text.substr(0, 77) + "..." : text;
}

}  // namespace

std::vector<std::string> JsonSchemaChecker::check(const json& value, const json& schema) const {
  std::vector<std::string> problems;
  check_at(value, schema, "", problems, 0);
  return problems;
}

const json* JsonSchemaChecker::resolve(const std::string& ref) const {
  if (!ref.starts_with("#")) return nullptr;
  try {
    const json::json_pointer pointer(ref.substr(1));
    return document_.contains(pointer) ? &document_.at(pointer) : nullptr;
  } catch (const json::exception&) {
    return nullptr;
  }
}

void JsonSchemaChecker::check_at(const json& value, const json& schema, const std::string& at,
                                 std::vector<std::string>& problems, int depth) const {
  const std::string where = at.empty() ? "/" : at;
  if (depth > 64) {
    problems.push_back(where + ": the schema nests too deep (a $ref cycle?)");
    return;
  }
  if (schema.is_boolean()) {
    if (!schema.get<bool>()) problems.push_back(where + ": no value is allowed here");
    return;
  }
  if (!schema.is_object()) {
    problems.push_back(where + ": the schema is not an object: " + shown(schema));
    return;
  }
  for (const auto& [keyword, ignored] : schema.items())
    if (!kKeywords.contains(keyword) && !kAnnotations.contains(keyword) &&
        !keyword.starts_with("x-"))
      problems.push_back(where + ": the checker does not know the keyword " + keyword);

  if (auto ref = schema.find("$ref"); ref != schema.end()) {
    const json* target = resolve(ref->get<std::string>());
    if (!target)
      problems.push_back(where + ": unresolved $ref " + ref->get<std::string>());
    else
      check_at(value, *target, at, problems, depth + 1);
  }
  if (auto type = schema.find("type"); type != schema.end()) {
    std::vector<std::string> types;
    if (type->is_array())
      for (const auto& t : *type) types.push_back(t.get<std::string>());
    else
      types.push_back(type->get<std::string>());
    if (std::ranges::none_of(types, [&](const std::string& t) { return has_type(value, t); })) {
      problems.push_back(where + ": " + shown(value) + " is not of type " + type->dump());
      return;  // the other keywords would only repeat it
    }
  }
  if (auto allowed = schema.find("enum"); allowed != schema.end()) {
    if (std::ranges::find(*allowed, value) == allowed->end())
      problems.push_back(where + ": " + shown(value) + " is not one of " + allowed->dump());
  }
  if (value.is_number()) {
    const double number = value.get<double>();
    if (auto min = schema.find("minimum"); min != schema.end() && number < min->get<double>())
      problems.push_back(where + ": " + shown(value) + " is below the minimum " + min->dump());
    if (auto max = schema.find("maximum"); max != schema.end() && number > max->get<double>())
      problems.push_back(where + ": " + shown(value) + " is above the maximum " + max->dump());
  }
  if (value.is_string()) {
    if (auto pattern = schema.find("pattern"); pattern != schema.end()) {
      const std::regex re(pattern->get<std::string>(), std::regex::ECMAScript);
      if (!std::regex_search(value.get<std::string>(), re))
        problems.push_back(where + ": " + shown(value) + " does not match " + pattern->dump());
    }
  }
  if (value.is_object()) {
    if (auto required = schema.find("required"); required != schema.end()) {
      for (const auto& name : *required)
        if (!value.contains(name.get<std::string>()))
          problems.push_back(where + ": the member " + name.get<std::string>() + " is missing");
    }
    if (auto min = schema.find("minProperties");
        min != schema.end() && value.size() < min->get<std::size_t>())
      problems.push_back(where + ": fewer than " + min->dump() + " members");
    const auto properties = schema.find("properties");
    const auto additional = schema.find("additionalProperties");
    for (const auto& [name, member] : value.items()) {
      const std::string member_at = at + "/" + name;
      if (properties != schema.end() && properties->contains(name)) {
        check_at(member, (*properties)[name], member_at, problems, depth + 1);
      } else if (additional != schema.end()) {
        if (additional->is_boolean() && !additional->get<bool>())
          problems.push_back(where + ": the member " + name + " is not in the schema");
        else
          check_at(member, *additional, member_at, problems, depth + 1);
      }
    }
  }
  if (value.is_array()) {
    if (auto items = schema.find("items"); items != schema.end())
      for (std::size_t i = 0; i < value.size(); ++i)
        check_at(value[i], *items, at + "/" + std::to_string(i), problems, depth + 1);
  }
  if (auto all = schema.find("allOf"); all != schema.end())
    for (const auto& part : *all) check_at(value, part, at, problems, depth + 1);
  for (const char* keyword : {"oneOf", "anyOf"}) {
    auto options = schema.find(keyword);
    if (options == schema.end()) continue;
    std::size_t matching = 0;
    std::vector<std::string> why;
    for (const auto& option : *options) {
      std::vector<std::string> own;
      check_at(value, option, at, own, depth + 1);
      if (own.empty())
        ++matching;
      else
        why.push_back(own.front());
    }
    const bool one = std::string_view(keyword) == "oneOf";
    if (matching == 0)
      problems.push_back(where + ": " + shown(value) + " matches none of " + keyword + " (" +
                         (why.empty() ? "" : why.front()) + ")");
    else if (one && matching > 1)
      problems.push_back(where + ": " + shown(value) + " matches " + std::to_string(matching) +
                         " schemas of oneOf");
  }
}

}  // namespace leadscore::testing
