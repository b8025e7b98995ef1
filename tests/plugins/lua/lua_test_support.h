// Paths of the shipped rules, for the tests of plugins/lua and rules/.
#pragma once

#include <filesystem>

namespace leadscore::lua::testing {

inline std::filesystem::path source_dir() { return LEADSCORE_SOURCE_DIR; }
inline std::filesystem::path rules_dir() { return source_dir() / "rules"; }

}  // namespace leadscore::lua::testing
