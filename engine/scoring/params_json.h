// A configured scorer's `params` (YAML) as the JSON text that a plugin's create() receives
// (include/leadscore/plugin.h), and the way back from a line of that text to the line of the
// config file it came from, so that a plugin's messages about its params point into the file.
//
// Threading: pure functions and values; safe from any thread.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config/config_error.h"

namespace leadscore::scoring {

struct ParamsJson {
  // One JSON object. Every key and every scalar is on a line of its own.
  std::string text;
  // lines[i] is where line i + 1 of `text` came from in the config file.
  std::vector<config::Position> lines;
  // Values that name an environment variable that is not set and give no default.
  struct Problem {
    config::Position at;
    std::string message;
  };
  std::vector<Problem> problems;

  // Where a 1-based line of `text` came from; lines[0] (the `params` mapping) when unknown.
  config::Position position_of_line(int line) const;
};

// The value of an environment variable; nullopt when it is unset or empty.
using Environment = std::function<std::optional<std::string>(const std::string& name)>;
// The process's own environment.
std::optional<std::string> process_environment(const std::string& name);

// Plain YAML scalars become JSON numbers, booleans or null when YAML reads them so (8000, 0.5,
// true, ~); every other scalar, and every quoted one, becomes a JSON string. An absent or null
// `params` is "{}". `where` is the position of the `params` key (used for values without one).
//
// A scalar that is, as a whole, `${NAME:-default}` takes the value of the environment variable
// NAME (A-Z, 0-9, '_', not starting with a digit), or `default` when NAME is unset or empty;
// `${NAME}` without a default must be set (else a problem at the value). The value is then read
// as the scalar would be (plain: a number may become a JSON number; quoted: a string). Any other
// text, `${` included, is kept as it is.
ParamsJson params_to_json(const YAML::Node& params, config::Position where,
                          const Environment& environment = process_environment);

// One message line of a plugin about its params, split into its position in the JSON text
// ("LINE:COLUMN: message"; line 0 when the message has no position) and the message.
struct PluginMessage {
  int line = 0;
  std::string text;
};
std::vector<PluginMessage> split_plugin_messages(std::string_view messages);

}  // namespace leadscore::scoring
