// A positioned configuration problem: file, line and column (1-based; 0 when unknown).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace leadscore::config {

// Where something is in a config file: 1-based line and column, 0 when unknown.
struct Position {
  int line = 0;
  int column = 0;
};

struct ConfigError {
  std::string file;
  int line = 0;
  int column = 0;
  std::string message;

  static ConfigError at(std::string file, Position position, std::string message) {
    return {std::move(file), position.line, position.column, std::move(message)};
  }

  // "file:line:column: message", for the CLI and logs ("file: message" when the position is
  // unknown).
  std::string to_text() const;
};

// One error per line.
std::string to_text(const std::vector<ConfigError>& errors);

}  // namespace leadscore::config
