# Writes a C++ source holding the documents of api/openapi (the OpenAPI document and the pages
# of /docs and /redoc), byte for byte, so that the binary serves them without the source tree.
# Run at build time:
#   cmake -DDOCUMENTS_DIR=... -DOUTPUT=... -DNAMES=openapi.json,... -P embed_documents.cmake
string(REPLACE "," ";" NAMES "${NAMES}")
set(delimiter "ls_document")
set(entries "")
foreach(name IN LISTS NAMES)
  file(READ "${DOCUMENTS_DIR}/${name}" text)
  string(FIND "${text}" ")${delimiter}\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${DOCUMENTS_DIR}/${name} contains the raw-string delimiter")
  endif()
  string(APPEND entries "    {\"${name}\", R\"${delimiter}(${text})${delimiter}\"},\n")
endforeach()
set(content "// Generated from api/openapi by embed_documents.cmake; do not edit.
#include \"api/openapi/documents.h\"

namespace leadscore::api {

std::span<const EmbeddedDocument> embedded_documents() {
  static constexpr EmbeddedDocument kDocuments[] = {
${entries}  };
  return kDocuments;
}

}  // namespace leadscore::api
")
# Rewrite only on change, so that unchanged documents rebuild nothing.
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" previous)
  if(previous STREQUAL content)
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${content}")
