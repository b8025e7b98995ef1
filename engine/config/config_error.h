// A positioned configuration problem: file, line and column (1-based; 0 when unknown).
#pragma once

#include <string>
#include <vector>

namespace leadscore::config {

struct ConfigError {
  std::string file;
  int line = 0;
  int column = 0;
  std::string message;

  // "file:line:column: message", for the CLI and logs.
  std::string to_text() const;
};

std::string to_text(const std::vector<ConfigError>& errors);

}  // namespace leadscore::config
