#include "engine/config/config_error.h"

namespace leadscore::config {

std::string ConfigError::to_text() const {
  std::string text = file;
  if (line > 0) {
    text += ':' + std::to_string(line);
    if (column > 0) text += ':' + std::to_string(column);
  }
  text += ": ";
  text += message;
  return text;
}

std::string to_text(const std::vector<ConfigError>& errors) {
  std::string text;
  for (const auto& error : errors) {
    text += error.to_text();
    text += '\n';
  }
  return text;
}

}  // namespace leadscore::config
