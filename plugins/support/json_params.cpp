#include "plugins/support/json_params.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <system_error>

namespace leadscore::plugin {
namespace {

// Builds the tree of positioned values from nlohmann's parse events. The events come in text
// order, so each token is found by scanning the text from the end of the one before.
class PositionedBuilder : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit PositionedBuilder(std::string_view text) : text_(text) {}

  JsonValue& root() { return root_; }
  const std::string& error() const { return error_; }

  bool null() override { return scalar(JsonValue::Kind::Null, 4); }
  bool boolean(bool value) override { return scalar(JsonValue::Kind::Boolean, value ? 4 : 5); }
  bool number_integer(number_integer_t) override { return number(); }
  bool number_unsigned(number_unsigned_t) override { return number(); }
  bool number_float(number_float_t, const string_t&) override { return number(); }
  bool string(string_t& value) override {
    const std::size_t start = token_start();
    JsonValue& v = add(start);
    v.kind = JsonValue::Kind::String;
    v.text = std::move(value);
    next_ = string_end(start);
    return true;
  }
  bool binary(binary_t&) override { return false; }
  bool start_object(std::size_t) override { return open(JsonValue::Kind::Object); }
  bool key(string_t& key) override {
    const std::size_t start = token_start();
    open_.back()->members.push_back({std::move(key), position_of(start), {}});
    next_ = string_end(start);
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(JsonValue::Kind::List); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    error_ = e.what();
    return false;
  }

 private:
  static bool skipped(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ':' || c == ',';
  }

  std::size_t token_start() {
    while (next_ < text_.size() && skipped(text_[next_])) ++next_;
    return next_;
  }

  // The offset just past the string token that starts (with its quote) at `start`.
  std::size_t string_end(std::size_t start) const {
    std::size_t at = start + 1;
    while (at < text_.size() && text_[at] != '"') at += text_[at] == '\\' ? 2 : 1;
    return std::min(at + 1, text_.size());
  }

  TextPosition position_of(std::size_t offset) {
    // Offsets only grow: count the lines from where the last position was taken.
    for (; counted_ < offset && counted_ < text_.size(); ++counted_)
      if (text_[counted_] == '\n') {
        ++line_;
        line_start_ = counted_ + 1;
      }
    return {line_, static_cast<int>(offset - line_start_) + 1};
  }

  // A new value at `start`: the root, the value of the key just read, or a list's next item.
  JsonValue& add(std::size_t start) {
    JsonValue* value = &root_;
    if (!open_.empty()) {
      JsonValue& parent = *open_.back();
      if (parent.kind == JsonValue::Kind::Object) {
        value = &parent.members.back().value;
      } else {
        parent.items.emplace_back();
        value = &parent.items.back();
      }
    }
    value->position = position_of(start);
    return *value;
  }

  bool scalar(JsonValue::Kind kind, std::size_t length) {
    const std::size_t start = token_start();
    JsonValue& v = add(start);
    v.kind = kind;
    next_ = std::min(start + length, text_.size());
    if (kind == JsonValue::Kind::Boolean) v.text = std::string(text_.substr(start, length));
    return true;
  }

  bool number() {
    const std::size_t start = token_start();
    std::size_t end = start;
    while (end < text_.size() &&
           std::string_view("+-0123456789.eE").find(text_[end]) != std::string_view::npos)
      ++end;
    JsonValue& v = add(start);
    v.kind = JsonValue::Kind::Number;
    v.text = std::string(text_.substr(start, end - start));
    next_ = end;
    return true;
  }

  bool open(JsonValue::Kind kind) {
    const std::size_t start = token_start();
    JsonValue& v = add(start);
    v.kind = kind;
    open_.push_back(&v);
    next_ = start + 1;
    return true;
  }

  bool close() {
    next_ = token_start() + 1;
    open_.pop_back();
    return true;
  }

  std::string_view text_;
  std::size_t next_ = 0;
  std::size_t counted_ = 0;
  std::size_t line_start_ = 0;
  int line_ = 1;
  JsonValue root_;
  // The objects and lists being read, innermost last. A parent gains no member while a child
  // is open, so these pointers stay valid.
  std::vector<JsonValue*> open_;
  std::string error_;
};

// A JSON string the engine made of a YAML scalar that YAML would read as a value: it was
// quoted in the config.
bool looks_like_plain_value(const std::string& text) {
  if (text.empty() || text == "true" || text == "false" || text == "null" || text == "~")
    return true;
  double number = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, number);
  return ec == std::errc{} && ptr == end;
}

// A value YAML would have read as a plain scalar: a number, a boolean, or a plain word.
bool is_plain_scalar(const JsonValue& value) {
  switch (value.kind) {
    case JsonValue::Kind::Number:
    case JsonValue::Kind::Boolean:
      return true;
    case JsonValue::Kind::String:
      return !looks_like_plain_value(value.text);
    default:
      return false;
  }
}

// Shortest text that reads back as the same double ("0.3", "1e-05").
std::string shortest(double value) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc{} ? std::string(buffer, end) : std::string("?");
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::expected<JsonValue, std::string> parse_positioned_json(std::string_view text) {
  PositionedBuilder builder(text);
  const bool parsed = nlohmann::json::sax_parse(text.begin(), text.end(), &builder);
  if (!parsed)
    return std::unexpected("params are not valid JSON: " + (builder.error().empty()
                                                                ? std::string("unexpected input")
                                                                : builder.error()));
  return std::move(builder.root());
}

void ParamsProblems::add(TextPosition at, std::string message) {
  problems_.push_back({at, std::move(message)});
}

std::string ParamsProblems::to_text() const {
  std::vector<ParamsProblem> sorted = problems_;
  std::ranges::stable_sort(sorted, [](const ParamsProblem& a, const ParamsProblem& b) {
    return a.at.line != b.at.line ? a.at.line < b.at.line : a.at.column < b.at.column;
  });
  std::string text;
  for (const auto& p : sorted) {
    if (!text.empty()) text += '\n';
    if (p.at.line > 0) text += std::to_string(p.at.line) + ":" + std::to_string(p.at.column) + ": ";
    text += p.message;
  }
  return text;
}

std::string describe(const JsonValue& value) {
  switch (value.kind) {
    case JsonValue::Kind::Null:
      return "nothing";
    case JsonValue::Kind::Object:
      return "a mapping";
    case JsonValue::Kind::List:
      return "a list";
    default:
      break;
  }
  if (!is_plain_scalar(value)) return "a quoted string '" + value.text + "'";
  return "'" + value.text + "'";
}

TextPosition value_position(const JsonValue& value, TextPosition fallback) {
  if (value.kind == JsonValue::Kind::Null || value.position.line == 0) return fallback;
  return value.position;
}

std::optional<std::int64_t> read_integer(const JsonValue& value, std::string_view what,
                                         IntRange range, TextPosition at,
                                         ParamsProblems& problems) {
  const TextPosition where = value_position(value, at);
  if (!is_plain_scalar(value)) {
    problems.add(where, std::string(what) + " must be an integer, got " + describe(value));
    return std::nullopt;
  }
  std::string_view text = value.text;
  if (text.starts_with('+')) text.remove_prefix(1);
  std::int64_t parsed = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
  const std::string bounds = " must be between " + std::to_string(range.min) + " and " +
                             std::to_string(range.max) + ", got " + value.text;
  if (ec == std::errc::result_out_of_range) {
    problems.add(where, std::string(what) + bounds);
    return std::nullopt;
  }
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) {
    problems.add(where, std::string(what) + " must be an integer, got " + describe(value));
    return std::nullopt;
  }
  if (parsed < range.min || parsed > range.max) {
    problems.add(where, std::string(what) + bounds);
    return std::nullopt;
  }
  return parsed;
}

std::optional<double> read_number(const JsonValue& value, std::string_view what, NumberRange range,
                                  TextPosition at, ParamsProblems& problems) {
  const TextPosition where = value_position(value, at);
  if (!is_plain_scalar(value)) {
    problems.add(where, std::string(what) + " must be a number, got " + describe(value));
    return std::nullopt;
  }
  std::string_view text = value.text;
  if (text.starts_with('+')) text.remove_prefix(1);
  double parsed = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty() ||
      !std::isfinite(parsed)) {
    problems.add(where, std::string(what) + " must be a number, got " + describe(value));
    return std::nullopt;
  }
  if (parsed < range.min || parsed > range.max) {
    problems.add(where, std::string(what) + " must be between " + shortest(range.min) + " and " +
                            shortest(range.max) + ", got " + value.text);
    return std::nullopt;
  }
  return parsed;
}

ParamsMap::ParamsMap(const JsonValue* value, std::string path, ParamsProblems& problems,
                     TextPosition where)
    : path_(std::move(path)),
      problems_(problems),
      position_(value != nullptr ? ::leadscore::plugin::value_position(*value, where) : where) {
  if (value == nullptr || value->kind == JsonValue::Kind::Null) return;
  if (value->kind != JsonValue::Kind::Object) {
    problems_.add(position_, path_ + " must be a mapping, got " + describe(*value));
    return;
  }
  present_ = true;
  for (const auto& member : value->members) {
    if (find(member.key) != nullptr) {
      problems_.add(member.key_position, "duplicate key '" + member.key + "' in " + path_);
      continue;
    }
    items_.push_back({member.key, &member.value, member.key_position, false});
  }
}

std::string ParamsMap::key_path(std::string_view key) const {
  return path_ + "." + std::string(key);
}

const ParamsMap::Item* ParamsMap::find(std::string_view key) const {
  for (const auto& item : items_)
    if (item.key == key) return &item;
  return nullptr;
}

ParamsMap::Item* ParamsMap::lookup(std::string_view key) {
  if (std::ranges::find(asked_, key) == asked_.end()) asked_.emplace_back(key);
  for (auto& item : items_)
    if (item.key == key) {
      item.known = true;
      return &item;
    }
  return nullptr;
}

bool ParamsMap::read(std::string_view key, std::int64_t& out, IntRange range) {
  const Item* item = lookup(key);
  if (item == nullptr) return false;
  auto parsed = read_integer(*item->value, key_path(key), range, item->key_position, problems_);
  if (!parsed) return false;
  out = *parsed;
  return true;
}

bool ParamsMap::read(std::string_view key, double& out, NumberRange range) {
  const Item* item = lookup(key);
  if (item == nullptr) return false;
  auto parsed = read_number(*item->value, key_path(key), range, item->key_position, problems_);
  if (!parsed) return false;
  out = *parsed;
  return true;
}

bool ParamsMap::require(std::string_view key) {
  if (lookup(key) != nullptr) return true;
  problems_.add(position_, "missing key '" + std::string(key) + "' in " + path_);
  return false;
}

bool ParamsMap::has(std::string_view key) { return lookup(key) != nullptr; }

const JsonValue* ParamsMap::value(std::string_view key) {
  const Item* item = lookup(key);
  return item != nullptr ? item->value : nullptr;
}

ParamsMap ParamsMap::map(std::string_view key) {
  const Item* item = lookup(key);
  if (item == nullptr) return ParamsMap(nullptr, key_path(key), problems_, position_);
  return ParamsMap(item->value, key_path(key), problems_, item->key_position);
}

TextPosition ParamsMap::key_position(std::string_view key) const {
  const Item* item = find(key);
  return item != nullptr ? item->key_position : position_;
}

TextPosition ParamsMap::value_position(std::string_view key) const {
  const Item* item = find(key);
  return item != nullptr ? ::leadscore::plugin::value_position(*item->value, item->key_position)
                         : position_;
}

void ParamsMap::error(std::string_view key, std::string message) {
  problems_.add(value_position(key), std::move(message));
}

std::vector<ParamsMap::Entry> ParamsMap::entries() {
  std::vector<Entry> out;
  out.reserve(items_.size());
  for (auto& item : items_) {
    item.known = true;
    out.push_back({item.key, item.value, item.key_position});
  }
  return out;
}

void ParamsMap::finish() {
  for (const auto& item : items_) {
    if (item.known) continue;
    std::string message = "unknown key '" + item.key + "' in " + path_;
    const std::string* closest = nullptr;
    std::size_t best = 3;  // suggest only names within two edits
    for (const auto& candidate : asked_) {
      const std::size_t distance = edit_distance(item.key, candidate);
      if (distance < best) {
        best = distance;
        closest = &candidate;
      }
    }
    if (closest != nullptr) message += " (did you mean '" + *closest + "'?)";
    problems_.add(item.key_position, std::move(message));
  }
}

}  // namespace leadscore::plugin
