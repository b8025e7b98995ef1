// The numbered SQL migrations (engine/store/migrations/NNN_name.sql), embedded into the library
// at build time so that a binary migrates without the source tree. Private to engine/store.
#pragma once

#include <span>
#include <string_view>

namespace leadscore::store {

struct Migration {
  std::string_view name;  // the file name, e.g. "001_init.sql"
  std::string_view sql;
};

// Every migration, in name (and so number) order.
std::span<const Migration> embedded_migrations();

}  // namespace leadscore::store
