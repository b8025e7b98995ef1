// A positioned problem with a rule script, its helper libraries or its rule tests: the file,
// the 1-based line (0 when unknown) and what is wrong, as text for the CLI and JSON for the API.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace leadscore::lua {

struct LoadError {
  std::string file;
  int line = 0;
  std::string message;

  // "file:line: message" ("file: message" when the line is unknown).
  std::string to_text() const;
  // {"file": ..., "line": ..., "message": ...}
  nlohmann::json to_json() const;

  // Splits a Lua message "name:12: text" into a LoadError for `file`, where name is `file`
  // (or Lua's "..." and its tail); a message without a position, or positioned in another file,
  // keeps line 0 and the whole text.
  static LoadError from_lua_message(std::string file, std::string_view message);
};

// One error per line.
std::string to_text(const std::vector<LoadError>& errors);

}  // namespace leadscore::lua
