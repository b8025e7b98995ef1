// Checks real answers of the API against leadscore's OpenAPI document (api/openapi/openapi.json):
// the answer's status must be one the operation documents, its Content-Type one documented for
// that status, and a JSON body must conform to the documented schema (tests/support/json_schema.h).
// Requests that match no operation (an unknown route) are not checked.
//
// Threading: const after construction; any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/json_schema.h"

namespace leadscore::testing {

class OpenApiResponses {
 public:
  // The document in the source tree, read once.
  static const OpenApiResponses& shipped();

  explicit OpenApiResponses(nlohmann::json document);
  OpenApiResponses(const OpenApiResponses&) = delete;  // the checker refers to document_
  OpenApiResponses& operator=(const OpenApiResponses&) = delete;

  // The document's path template of `path` (its query removed) for `method`, e.g.
  // "/leads/{id}"; nullopt when no operation matches. A literal segment wins over a template.
  std::optional<std::string> operation_path(const std::string& method,
                                            const std::string& path) const;

  // What is wrong with this answer to `method` `path`; empty when it is as documented (or no
  // operation matches).
  std::vector<std::string> check(const std::string& method, const std::string& path, long status,
                                 const std::string& content_type, const std::string& body) const;

  const nlohmann::json& document() const { return document_; }

 private:
  nlohmann::json document_;
  JsonSchemaChecker checker_;
};

}  // namespace leadscore::testing
