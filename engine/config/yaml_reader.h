// Positioned, strict reading of YAML mappings: the one way config sections and scorer
// `params` are read, so that every problem names the file, the key path and its line.
//
// A YamlMap records which keys its readers asked for; finish() reports every other key as
// unknown ("unknown key 'prot' in server"). Readers never throw and never stop at the first
// problem: a value that is absent keeps its default, a value that is wrong is reported and
// also keeps its default, so one pass finds every error in the file.
//
// Threading: a YamlMap and its YamlErrors belong to one thread while a file is read.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/config/config_error.h"

namespace leadscore::config {

// yaml-cpp's marks are 0-based (and -1 when unknown); positions are 1-based (0 when unknown).
Position position_of(const YAML::Mark& mark);

// The errors found in one file.
class YamlErrors {
 public:
  explicit YamlErrors(std::string file) : file_(std::move(file)) {}

  const std::string& file() const { return file_; }
  void add(Position at, std::string message);
  void add(const YAML::Mark& at, std::string message) { add(position_of(at), std::move(message)); }
  bool empty() const { return errors_.empty(); }
  std::size_t size() const { return errors_.size(); }
  const std::vector<ConfigError>& list() const { return errors_; }
  std::vector<ConfigError> take() { return std::move(errors_); }
  // File order (readers report a section's unknown keys after its known ones).
  void sort_by_position();

 private:
  std::string file_;
  std::vector<ConfigError> errors_;
};

struct IntRange {
  std::int64_t min = std::numeric_limits<std::int64_t>::min();
  std::int64_t max = std::numeric_limits<std::int64_t>::max();
};

struct NumberRange {
  double min = -1e300;
  double max = 1e300;
};

// Typed reads of one value (a list item, or a mapping value). `what` names the value in
// messages ("server.port", "sources[2]"); `at` is where to point when the value itself has no
// useful position (a null value points past itself in yaml-cpp, so give the key's position).
// Integers and numbers must be plain scalars: a quoted "8000" is a string, not an integer.
std::optional<std::int64_t> read_integer(const YAML::Node& value, std::string_view what,
                                         IntRange range, Position at, YamlErrors& errors);
std::optional<double> read_number(const YAML::Node& value, std::string_view what, NumberRange range,
                                  Position at, YamlErrors& errors);
std::optional<bool> read_bool(const YAML::Node& value, std::string_view what, Position at,
                              YamlErrors& errors);
std::optional<std::string> read_string(const YAML::Node& value, std::string_view what, Position at,
                                       YamlErrors& errors);

// Where a value is: its own mark, or `fallback` when it has none (null values, absent ones).
Position value_position(const YAML::Node& value, Position fallback);

// "a mapping", "a list", "nothing", "'text'", "a quoted string '8000'": for messages.
std::string describe(const YAML::Node& value);

// One mapping of a document, at a dotted key path ("server", "scoring.scorers.heuristic.params";
// "" for the document itself).
class YamlMap {
 public:
  // An undefined or null node is an absent mapping: every key keeps its default.
  // A node of another kind is reported ("server must be a mapping") and read as absent.
  // `where` is used for errors about the mapping as a whole when it has no position of its own.
  YamlMap(const YAML::Node& node, std::string path, YamlErrors& errors, Position where = {});

  const std::string& path() const { return path_; }
  std::string key_path(std::string_view key) const;
  bool present() const { return present_; }
  Position position() const { return position_; }
  YamlErrors& errors() { return errors_; }

  // Each reader: absent key → false and `out` unchanged; wrong value → an error, false and
  // `out` unchanged; else `out` is set and true. All mark the key as known.
  bool read(std::string_view key, int& out, IntRange range);
  bool read(std::string_view key, std::int64_t& out, IntRange range);
  bool read(std::string_view key, std::size_t& out, IntRange range);
  bool read(std::string_view key, double& out, NumberRange range);
  bool read(std::string_view key, bool& out);
  bool read(std::string_view key, std::string& out);
  bool read_one_of(std::string_view key, std::string& out,
                   std::span<const std::string_view> allowed);
  // A list of strings; `out` is replaced only when every item is a string.
  bool read(std::string_view key, std::vector<std::string>& out);

  // Reports "missing key 'plugin' in scoring.scorers.x" when the key is absent.
  bool require(std::string_view key);
  bool has(std::string_view key);
  // The raw value (an undefined node when absent); marks the key as known.
  YAML::Node value(std::string_view key);
  // A nested mapping; absent when the key is absent or null.
  YamlMap map(std::string_view key);
  Position key_position(std::string_view key) const;
  Position value_position(std::string_view key) const;
  // An error about one key's value, at that value.
  void error(std::string_view key, std::string message);

  // For mappings whose keys are names (scorers, sources): every entry in file order, each key
  // counting as known.
  struct Entry {
    std::string key;
    YAML::Node value;
    Position key_position;
  };
  std::vector<Entry> entries();

  // Reports every key that no reader asked for, with a suggestion when one is close.
  void finish();

 private:
  struct Item {
    std::string key;
    YAML::Node value;
    Position key_position;
    bool known = false;
  };
  Item* find(std::string_view key);
  const Item* find(std::string_view key) const;
  Item* lookup(std::string_view key);  // find + remember the key as asked for

  std::string path_;
  YamlErrors& errors_;
  Position position_;
  bool present_ = false;
  std::vector<Item> items_;
  std::vector<std::string> asked_;
};

}  // namespace leadscore::config
