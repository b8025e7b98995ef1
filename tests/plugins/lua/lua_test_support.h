// Paths of the shipped rules, and rule sources read from them, for the tests of plugins/lua and
// rules/.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>

#include "plugins/lua/lua_sandbox.h"

namespace leadscore::lua::testing {

inline std::filesystem::path source_dir() { return LEADSCORE_SOURCE_DIR; }
inline std::filesystem::path rules_dir() { return source_dir() / "rules"; }

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The shipped helper library (rules/lib/rules.lua) and a script.
inline RuleSources sources_with(std::string script_name, std::string script_text) {
  return {{{"rules/lib/rules.lua", read_text(rules_dir() / "lib" / "rules.lua")}},
          {std::move(script_name), std::move(script_text)}};
}

// A shipped script ("default.lua") with the helper library.
inline RuleSources shipped_sources(const char* script) {
  return sources_with(std::string("rules/") + script, read_text(rules_dir() / script));
}

}  // namespace leadscore::lua::testing
