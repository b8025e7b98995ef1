// The documents compiled into the binary from api/openapi (cmake/embed_files.cmake): the OpenAPI
// document of the REST API (openapi.json) and the pages of /docs and /redoc, which load only
// files leadscore itself serves.
//
// Threading: immutable; any thread.
#pragma once

#include <span>
#include <string_view>

namespace leadscore::api {

struct EmbeddedDocument {
  std::string_view name;  // its file name in api/openapi
  std::string_view text;  // its bytes
};

std::span<const EmbeddedDocument> embedded_documents();

// The text of the embedded document `name`; empty when there is none of that name.
inline std::string_view embedded_document(std::string_view name) {
  for (const auto& document : embedded_documents())
    if (document.name == name) return document.text;
  return {};
}

}  // namespace leadscore::api
