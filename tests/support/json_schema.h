// A checker of JSON values against the subset of JSON Schema (2020-12) that leadscore's OpenAPI
// document uses: type (a name or a list of names, "null" included), properties, required,
// additionalProperties (true, false or a schema), minProperties, enum, items, $ref (to "#/..."
// in the document), allOf, oneOf, anyOf, minimum, maximum, pattern. Annotations (description,
// default, example, examples, title, format, deprecated) are not checked. Any other keyword is
// reported as a problem, so that the document cannot use one this checker would ignore.
//
// Threading: const after construction; any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace leadscore::testing {

class JsonSchemaChecker {
 public:
  // `document` holds what "$ref": "#/..." points into; the checker keeps a reference to it.
  explicit JsonSchemaChecker(const nlohmann::json& document) : document_(document) {}

  // Every way `value` fails `schema`, each as "<JSON pointer of the value>: <problem>"; empty
  // when it conforms.
  std::vector<std::string> check(const nlohmann::json& value, const nlohmann::json& schema) const;

 private:
  void check_at(const nlohmann::json& value, const nlohmann::json& schema, const std::string& at,
                std::vector<std::string>& problems, int depth) const;
  const nlohmann::json* resolve(const std::string& ref) const;

  const nlohmann::json& document_;
};

}  // namespace leadscore::testing
