// Paths of the shipped rules, and rule sources read from them, for the tests of plugins/lua and
// rules/.
#pragma once

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "plugins/lua/lua_sandbox.h"
#include "plugins/support/lead_features.h"

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

// A profile of the fields that ls_features also names (name, email, role, company, industry,
// location, bio), in that order; fields past the values given are absent.
inline std::vector<plugin::ProfileField> named_profile(
    std::initializer_list<std::optional<std::string>> values) {
  std::vector<plugin::ProfileField> out;
  auto value = values.begin();
  for (std::string_view name : plugin::kNamedProfileFields)
    out.push_back({std::string(name), value != values.end() ? *value++ : std::nullopt});
  return out;
}

// A profile field's value, or `missing` when the lead has none.
inline std::string field_or(const plugin::Features& lead, std::string_view name,
                            std::string missing) {
  const auto* value = lead.field(name);
  return value != nullptr && *value ? **value : missing;
}

}  // namespace leadscore::lua::testing
