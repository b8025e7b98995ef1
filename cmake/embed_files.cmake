# Writes a C++ source holding text files byte for byte, as raw strings, so that the binary needs
# no source tree at run time (the store's migrations, the OpenAPI document and the pages of
# /docs and /redoc). Run at build time:
#   cmake -DDIR=... -DNAMES=a,b,... -DOUTPUT=... -DHEADER=path/of/the/header.h
#         -DNAMESPACE=leadscore::x -DTYPE=Entry -DFUNCTION=embedded_x -DDELIMITER=ls_x
#         -P cmake/embed_files.cmake
# The header declares `struct TYPE { const char* name; const char* text; }` (or the like) and
# `std::span<const TYPE> FUNCTION();`; the entries keep the order of NAMES.
foreach(var IN ITEMS DIR NAMES OUTPUT HEADER NAMESPACE TYPE FUNCTION DELIMITER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed_files.cmake: ${var} is not set")
  endif()
endforeach()
string(REPLACE "," ";" NAMES "${NAMES}")
set(entries "")
foreach(name IN LISTS NAMES)
  file(READ "${DIR}/${name}" text)
  string(FIND "${text}" ")${DELIMITER}\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${DIR}/${name} contains the raw-string delimiter")
  endif()
  string(APPEND entries "    {\"${name}\", R\"${DELIMITER}(${text})${DELIMITER}\"},\n")
endforeach()
set(content "// Generated from ${DIR} by cmake/embed_files.cmake; do not edit.
#include \"${HEADER}\"

namespace ${NAMESPACE} {

std::span<const ${TYPE}> ${FUNCTION}() {
  static constexpr ${TYPE} kEntries[] = {
${entries}  };
  return kEntries;
}

}  // namespace ${NAMESPACE}
")
# Rewrite only on change, so that unchanged files rebuild nothing.
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" previous)
  if(previous STREQUAL content)
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${content}")
