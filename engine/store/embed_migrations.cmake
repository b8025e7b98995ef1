# Writes a C++ source holding every migrations/NNN_name.sql file, in name order, so that the
# binary migrates without the source tree. Run at build time:
#   cmake -DMIGRATIONS_DIR=... -DOUTPUT=... -P embed_migrations.cmake
file(GLOB files RELATIVE "${MIGRATIONS_DIR}" "${MIGRATIONS_DIR}/*.sql")
list(SORT files)
set(delimiter "leadscore_sql")
set(entries "")
foreach(name IN LISTS files)
  if(NOT name MATCHES "^[0-9][0-9][0-9]_[a-z0-9_]+\\.sql$")
    message(FATAL_ERROR "${MIGRATIONS_DIR}/${name}: a migration is named NNN_lowercase_words.sql")
  endif()
  file(READ "${MIGRATIONS_DIR}/${name}" sql)
  string(FIND "${sql}" ")${delimiter}\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${MIGRATIONS_DIR}/${name} contains the raw-string delimiter")
  endif()
  string(APPEND entries "    {\"${name}\", R\"${delimiter}(${sql})${delimiter}\"},\n")
endforeach()
set(content "// Generated from engine/store/migrations by embed_migrations.cmake; do not edit.
#include \"engine/store/migrations.h\"

namespace leadscore::store {

std::span<const Migration> embedded_migrations() {
  static constexpr Migration kMigrations[] = {
${entries}  };
  return kMigrations;
}

}  // namespace leadscore::store
")
# Rewrite only on change, so that an unchanged set of migrations rebuilds nothing.
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" previous)
  if(previous STREQUAL content)
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${content}")
