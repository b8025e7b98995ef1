#include "plugins/lua/load_error.h"

#include <cctype>

namespace leadscore::lua {

std::string LoadError::to_text() const {
  std::string text;
  text.reserve(file.size() + message.size() + 16);
  text.append(file);
  if (line > 0) text.append(":").append(std::to_string(line));
  text.append(": ").append(message);
  return text;
}

nlohmann::json LoadError::to_json() const {
  return {{"file", file}, {"line", line}, {"message", message}};
}

LoadError LoadError::from_lua_message(std::string file, std::string_view message) {
  // Lua prefixes a position as "<chunk name>:<line>: "; the chunk name may itself hold ':'
  // (and is cut to "...tail" when long), so look for the first ":<digits>: ".
  for (std::size_t colon = message.find(':'); colon != std::string_view::npos;
       colon = message.find(':', colon + 1)) {
    std::size_t end = colon + 1;
    int line = 0;
    while (end < message.size() && std::isdigit(static_cast<unsigned char>(message[end])) &&
           line < 100'000'000)
      line = line * 10 + (message[end++] - '0');
    if (end > colon + 1 && end + 1 < message.size() && message[end] == ':' &&
        message[end + 1] == ' ')
      return {std::move(file), line, std::string(message.substr(end + 2))};
  }
  return {std::move(file), 0, std::string(message)};
}

std::string to_text(const std::vector<LoadError>& errors) {
  std::string text;
  for (const auto& error : errors) text += error.to_text() + "\n";
  return text;
}

}  // namespace leadscore::lua
