#include "engine/config/yaml_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <system_error>

namespace leadscore::config {
namespace {

// Shortest text that reads back as the same double ("0.3", "1e-05").
std::string shortest(double value) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc{} ? std::string(buffer, end) : std::string("?");
}

// A quoted or explicitly tagged scalar is a string, whatever it looks like.
bool is_plain_scalar(const YAML::Node& value) { return value.IsScalar() && value.Tag() == "?"; }

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

Position position_of(const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0) return {};
  return {mark.line + 1, mark.column + 1};
}

void YamlErrors::add(Position at, std::string message) {
  errors_.push_back(ConfigError::at(file_, at, std::move(message)));
}

void YamlErrors::sort_by_position() {
  std::ranges::stable_sort(errors_, [](const ConfigError& a, const ConfigError& b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
  });
}

Position value_position(const YAML::Node& value, Position fallback) {
  if (!value.IsDefined() || value.IsNull()) return fallback;
  Position own = position_of(value.Mark());
  return own.line > 0 ? own : fallback;
}

std::string describe(const YAML::Node& value) {
  if (!value.IsDefined() || value.IsNull()) return "nothing";
  if (value.IsMap()) return "a mapping";
  if (value.IsSequence()) return "a list";
  if (!is_plain_scalar(value)) return "a quoted string '" + value.Scalar() + "'";
  return "'" + value.Scalar() + "'";
}

std::optional<std::int64_t> read_integer(const YAML::Node& value, std::string_view what,
                                         IntRange range, Position at, YamlErrors& errors) {
  const Position where = value_position(value, at);
  if (!is_plain_scalar(value)) {
    errors.add(where, std::string(what) + " must be an integer, got " + describe(value));
    return std::nullopt;
  }
  std::string_view text = value.Scalar();
  if (text.starts_with('+')) text.remove_prefix(1);
  std::int64_t parsed = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
  if (ec == std::errc::result_out_of_range) {
    errors.add(where, std::string(what) + " must be between " + std::to_string(range.min) +
                          " and " + std::to_string(range.max) + ", got " + value.Scalar());
    return std::nullopt;
  }
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) {
    errors.add(where, std::string(what) + " must be an integer, got " + describe(value));
    return std::nullopt;
  }
  if (parsed < range.min || parsed > range.max) {
    errors.add(where, std::string(what) + " must be between " + std::to_string(range.min) +
                          " and " + std::to_string(range.max) + ", got " + value.Scalar());
    return std::nullopt;
  }
  return parsed;
}

std::optional<double> read_number(const YAML::Node& value, std::string_view what, NumberRange range,
                                  Position at, YamlErrors& errors) {
  const Position where = value_position(value, at);
  if (!is_plain_scalar(value)) {
    errors.add(where, std::string(what) + " must be a number, got " + describe(value));
    return std::nullopt;
  }
  std::string_view text = value.Scalar();
  if (text.starts_with('+')) text.remove_prefix(1);
  double parsed = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty() ||
      !std::isfinite(parsed)) {
    errors.add(where, std::string(what) + " must be a number, got " + describe(value));
    return std::nullopt;
  }
  if (parsed < range.min || parsed > range.max) {
    errors.add(where, std::string(what) + " must be between " + shortest(range.min) + " and " +
                          shortest(range.max) + ", got " + value.Scalar());
    return std::nullopt;
  }
  return parsed;
}

std::optional<bool> read_bool(const YAML::Node& value, std::string_view what, Position at,
                              YamlErrors& errors) {
  if (is_plain_scalar(value)) {
    const std::string& text = value.Scalar();
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
  }
  errors.add(value_position(value, at),
             std::string(what) + " must be true or false, got " + describe(value));
  return std::nullopt;
}

std::optional<std::string> read_string(const YAML::Node& value, std::string_view what, Position at,
                                       YamlErrors& errors) {
  if (value.IsDefined() && value.IsScalar()) return value.Scalar();
  errors.add(value_position(value, at),
             std::string(what) + " must be a string, got " + describe(value));
  return std::nullopt;
}

YamlMap::YamlMap(const YAML::Node& node, std::string path, YamlErrors& errors, Position where)
    : path_(std::move(path)),
      errors_(errors),
      position_(::leadscore::config::value_position(node, where)) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap()) {
    errors_.add(position_, (path_.empty() ? std::string("the document") : path_) +
                               " must be a mapping, got " + describe(node));
    return;
  }
  present_ = true;
  const std::string where_text = path_.empty() ? "at the top level" : "in " + path_;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const Position key_at = position_of(it->first.Mark());
    if (!it->first.IsScalar()) {
      errors_.add(key_at,
                  "keys " + where_text + " must be plain names, got " + describe(it->first));
      continue;
    }
    std::string key = it->first.Scalar();
    if (find(key) != nullptr) {
      errors_.add(key_at, "duplicate key '" + key + "' " + where_text);
      continue;
    }
    items_.push_back({std::move(key), it->second, key_at, false});
  }
}

std::string YamlMap::key_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

YamlMap::Item* YamlMap::find(std::string_view key) {
  for (auto& item : items_)
    if (item.key == key) return &item;
  return nullptr;
}

const YamlMap::Item* YamlMap::find(std::string_view key) const {
  for (const auto& item : items_)
    if (item.key == key) return &item;
  return nullptr;
}

YamlMap::Item* YamlMap::lookup(std::string_view key) {
  if (std::ranges::find(asked_, key) == asked_.end()) asked_.emplace_back(key);
  Item* item = find(key);
  if (item != nullptr) item->known = true;
  return item;
}

bool YamlMap::read(std::string_view key, std::int64_t& out, IntRange range) {
  const Item* item = lookup(key);
  if (item == nullptr) return false;
  auto parsed = read_integer(item->value, key_path(key), range, item->key_position, errors_);
  if (!parsed) return false;
  out = *parsed;
  return true;
}

bool YamlMap::read(std::string_view key, int& out, IntRange range) {
  range.min = std::max<std::int64_t>(range.min, std::numeric_limits<int>::min());
  range.max = std::min<std::int64_t>(range.max, std::numeric_limits<int>::max());
  std::int64_t wide = out;
  if (!read(key, wide, range)) return false;
  out = static_cast<int>(wide);
  return true;
}

bool YamlMap::read(std::string_view key, std::size_t& out, IntRange range) {
  range.min = std::max<std::int64_t>(range.min, 0);
  std::int64_t wide = 0;
  if (!read(key, wide, range)) return false;
  out = static_cast<std::size_t>(wide);
  return true;
}

bool YamlMap::read(std::string_view key, double& out, NumberRange range) {
  const Item* item = lookup(key);
  if (item == nullptr) return false;
  auto parsed = read_number(item->value, key_path(key), range, item->key_position, errors_);
  if (!parsed) return false;
  out = *parsed;
  return true;
}

bool YamlMap::read(std::string_view key, bool& out) {
  const Item* item = lookup(key);
  if (item == nullptr) return false;
  auto parsed = read_bool(item->value, key_path(key), item->key_position, errors_);
  if (!parsed) return false;
  out = *parsed;
  return true;
}

bool YamlMap::read(std::string_view key, std::string& out) {
  const Item* item = lookup(key);
  if (item == nullptr) return false;
  auto parsed = read_string(item->value, key_path(key), item->key_position, errors_);
  if (!parsed) return false;
  out = std::move(*parsed);
  return true;
}

bool YamlMap::read_one_of(std::string_view key, std::string& out,
                          std::span<const std::string_view> allowed) {
  const Item* item = lookup(key);
  if (item == nullptr) return false;
  auto parsed = read_string(item->value, key_path(key), item->key_position, errors_);
  if (!parsed) return false;
  if (std::ranges::find(allowed, std::string_view(*parsed)) == allowed.end()) {
    std::string list;
    for (auto name : allowed) {
      if (!list.empty()) list += ", ";
      list += name;
    }
    errors_.add(::leadscore::config::value_position(item->value, item->key_position),
                key_path(key) + " must be one of " + list + "; got '" + *parsed + "'");
    return false;
  }
  out = std::move(*parsed);
  return true;
}

bool YamlMap::read(std::string_view key, std::vector<std::string>& out) {
  const Item* item = lookup(key);
  if (item == nullptr) return false;
  if (!item->value.IsSequence()) {
    errors_.add(::leadscore::config::value_position(item->value, item->key_position),
                key_path(key) + " must be a list, got " + describe(item->value));
    return false;
  }
  std::vector<std::string> values;
  bool ok = true;
  for (std::size_t i = 0; i < item->value.size(); ++i) {
    auto parsed = read_string(item->value[i], key_path(key) + "[" + std::to_string(i) + "]",
                              item->key_position, errors_);
    if (parsed)
      values.push_back(std::move(*parsed));
    else
      ok = false;
  }
  if (ok) out = std::move(values);
  return ok;
}

bool YamlMap::require(std::string_view key) {
  if (lookup(key) != nullptr) return true;
  errors_.add(position_, "missing key '" + std::string(key) + "' " +
                             (path_.empty() ? std::string("at the top level") : "in " + path_));
  return false;
}

bool YamlMap::has(std::string_view key) { return lookup(key) != nullptr; }

YAML::Node YamlMap::value(std::string_view key) {
  const Item* item = lookup(key);
  return item != nullptr ? item->value : YAML::Node(YAML::NodeType::Undefined);
}

YamlMap YamlMap::map(std::string_view key) {
  const Item* item = lookup(key);
  if (item == nullptr)
    return YamlMap(YAML::Node(YAML::NodeType::Undefined), key_path(key), errors_, position_);
  return YamlMap(item->value, key_path(key), errors_, item->key_position);
}

Position YamlMap::key_position(std::string_view key) const {
  const Item* item = find(key);
  return item != nullptr ? item->key_position : position_;
}

Position YamlMap::value_position(std::string_view key) const {
  const Item* item = find(key);
  return item != nullptr ? ::leadscore::config::value_position(item->value, item->key_position)
                         : position_;
}

void YamlMap::error(std::string_view key, std::string message) {
  errors_.add(value_position(key), std::move(message));
}

std::vector<YamlMap::Entry> YamlMap::entries() {
  std::vector<Entry> out;
  out.reserve(items_.size());
  for (auto& item : items_) {
    item.known = true;
    out.push_back({item.key, item.value, item.key_position});
  }
  return out;
}

void YamlMap::finish() {
  const std::string where_text = path_.empty() ? "at the top level" : "in " + path_;
  for (const auto& item : items_) {
    if (item.known) continue;
    std::string message = "unknown key '" + item.key + "' " + where_text;
    const std::string* closest = nullptr;
    std::size_t best = 3;  // suggest only names within two edits
    for (const auto& candidate : asked_) {
      std::size_t distance = edit_distance(item.key, candidate);
      if (distance < best) {
        best = distance;
        closest = &candidate;
      }
    }
    if (closest != nullptr) message += " (did you mean '" + *closest + "'?)";
    errors_.add(item.key_position, std::move(message));
  }
}

}  // namespace leadscore::config
