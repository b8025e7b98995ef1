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

namespace {

// Whether `chunk`, the name in a Lua position, is `file`: Lua cuts a long name to "..." and its
// tail.
bool names_file(std::string_view chunk, std::string_view file) {
  return chunk == file ||
         (chunk.starts_with("...") && chunk.size() > 3 && file.ends_with(chunk.substr(3)));
}

}  // namespace

LoadError LoadError::from_lua_message(std::string file, std::string_view message) {
  // Lua prefixes a position as "<chunk name>:<line>: "; the chunk name may itself hold ':'
  // (and is cut to "...tail" when long), so look for the first ":<digits>: " after `file`'s
  // name. A position in another chunk (a helper library that raised an error while the script
  // loaded) is not a line of `file`: it stays in the message.
  for (std::size_t colon = message.find(':'); colon != std::string_view::npos;
       colon = message.find(':', colon + 1)) {
    if (!names_file(message.substr(0, colon), file)) continue;
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
