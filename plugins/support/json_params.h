// A plugin's params, read from the JSON text that create() receives, with the position of every
// key and value, so that each problem is reported as "LINE:COLUMN: message" and the engine
// points at the line of the config file it came from (include/leadscore/plugin.h, create()).
//
// ParamsMap reads one object strictly: it records which keys its readers asked for, and
// finish() reports every other key as unknown ("unknown key 'bonus' in params", with a
// suggestion when one is close). Readers never throw and never stop at the first problem: an
// absent value keeps its default, a wrong one is reported and keeps its default too, so one
// pass finds every problem.
//
// Scalars are described as the config wrote them: the engine turns a plain word of the YAML
// file into a JSON string, and a quoted number into a JSON string too, so a JSON string that
// reads as a number, a boolean or null is "a quoted string '0.3'", any other "'high'".
//
// Threading: values; a ParamsMap and its ParamsProblems belong to one thread.
#pragma once

#include <cstdint>
#include <expected>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leadscore::plugin {

// 1-based line and column (in bytes) of the JSON text; 0 when unknown.
struct TextPosition {
  int line = 0;
  int column = 0;
};

// One JSON value and where it starts in the text.
struct JsonValue {
  enum class Kind { Null, Boolean, Number, String, Object, List };
  struct Member;

  Kind kind = Kind::Null;
  std::string text;  // a string's value; a number or a boolean as written
  TextPosition position;
  std::vector<Member> members;   // an object's, in text order (repeated keys kept)
  std::vector<JsonValue> items;  // a list's
};

struct JsonValue::Member {
  std::string key;
  TextPosition key_position;
  JsonValue value;
};

// The JSON text as a tree of positioned values; "params are not valid JSON: ..." when it is
// not one JSON value.
std::expected<JsonValue, std::string> parse_positioned_json(std::string_view text);

struct ParamsProblem {
  TextPosition at;
  std::string message;
};

class ParamsProblems {
 public:
  void add(TextPosition at, std::string message);
  bool empty() const { return problems_.empty(); }
  std::size_t size() const { return problems_.size(); }
  const std::vector<ParamsProblem>& list() const { return problems_; }
  // One line per problem in text order, "LINE:COLUMN: message" (just the message when its
  // position is unknown): what create() writes into err.
  std::string to_text() const;

 private:
  std::vector<ParamsProblem> problems_;
};

struct IntRange {
  std::int64_t min = std::numeric_limits<std::int64_t>::min();
  std::int64_t max = std::numeric_limits<std::int64_t>::max();
};

struct NumberRange {
  double min = -1e300;
  double max = 1e300;
};

// "nothing", "a mapping", "a list", "'high'", "a quoted string '0.3'": for messages.
std::string describe(const JsonValue& value);

// Where a value is: its own position, or `fallback` for null (point at its key instead).
TextPosition value_position(const JsonValue& value, TextPosition fallback);

// Typed reads of one value; `what` names it in messages ("params.source_points.partner").
std::optional<std::int64_t> read_integer(const JsonValue& value, std::string_view what,
                                         IntRange range, TextPosition at, ParamsProblems& problems);
std::optional<double> read_number(const JsonValue& value, std::string_view what, NumberRange range,
                                  TextPosition at, ParamsProblems& problems);

// One object of the params at a dotted path ("params", "params.stage_points").
class ParamsMap {
 public:
  // A null or absent (nullptr) value is an absent object: every key keeps its default. A value
  // of another kind is reported ("params.x must be a mapping, got a list") and read as absent.
  // `where` is used when the object has no position of its own.
  ParamsMap(const JsonValue* value, std::string path, ParamsProblems& problems,
            TextPosition where = {});

  const std::string& path() const { return path_; }
  std::string key_path(std::string_view key) const;
  bool present() const { return present_; }
  TextPosition position() const { return position_; }
  ParamsProblems& problems() { return problems_; }

  // Each reader: absent key → false and `out` unchanged; wrong value → a problem, false and
  // `out` unchanged; else `out` is set and true. All mark the key as known.
  bool read(std::string_view key, std::int64_t& out, IntRange range);
  bool read(std::string_view key, double& out, NumberRange range);

  // Reports "missing key 'points' in params.x" when the key is absent.
  bool require(std::string_view key);
  bool has(std::string_view key);
  // The value (nullptr when absent); marks the key as known.
  const JsonValue* value(std::string_view key);
  // A nested object; absent when the key is absent or null.
  ParamsMap map(std::string_view key);
  TextPosition key_position(std::string_view key) const;
  TextPosition value_position(std::string_view key) const;
  // A problem about one key's value, at that value.
  void error(std::string_view key, std::string message);

  // For objects whose keys are names (sources): every member in text order, each known.
  struct Entry {
    std::string key;
    const JsonValue* value;
    TextPosition key_position;
  };
  std::vector<Entry> entries();

  // Reports every key that no reader asked for, with a suggestion when one is close.
  void finish();

 private:
  struct Item {
    std::string key;
    const JsonValue* value;
    TextPosition key_position;
    bool known = false;
  };
  const Item* find(std::string_view key) const;
  Item* lookup(std::string_view key);  // find + remember the key as asked for

  std::string path_;
  ParamsProblems& problems_;
  TextPosition position_;
  bool present_ = false;
  std::vector<Item> items_;
  std::vector<std::string> asked_;
};

}  // namespace leadscore::plugin
