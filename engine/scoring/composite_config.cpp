#include "engine/scoring/composite_config.h"

#include <algorithm>
#include <charconv>
#include <system_error>

#include "engine/domain/score_result.h"
#include "engine/domain/utf8.h"

namespace leadscore::scoring {
namespace {

using config::Position;
using config::YamlErrors;
using config::YamlMap;

// Largest max_points, weight or min_points: a bound on typing mistakes, not a business rule.
constexpr double kMostPoints = 1e6;
// The default thresholds, as shares of the most points: those of the shipped scorers.
constexpr double kDefaultTransferShare = 0.7;
constexpr double kDefaultDropShare = 0.3;

std::string text_of(double value) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc{} ? std::string(buffer, end) : std::string("?");
}

std::string item_path(const std::string& list, std::size_t i) {
  return list + "[" + std::to_string(i) + "]";
}

// A list under `key`; nullopt (and an error unless absent) when it is not one.
std::optional<YAML::Node> list_of(YamlMap& map, std::string_view key) {
  if (!map.has(key)) return std::nullopt;
  YAML::Node list = map.value(key);
  if (!list.IsSequence()) {
    map.error(key, map.key_path(key) + " must be a list, got " + config::describe(list));
    return std::nullopt;
  }
  return list;
}

// Points that must be above 0 (max_points, weight); nullopt when absent or wrong (reported).
std::optional<double> read_positive(YamlMap& item, std::string_view key) {
  double value = 0;
  if (!item.read(key, value, {-kMostPoints, kMostPoints})) return std::nullopt;
  if (value <= 0) {
    item.error(key, item.key_path(key) + " must be more than 0, got " + text_of(value));
    return std::nullopt;
  }
  return value;
}

struct PartsRead {
  std::vector<CompositePartConfig> parts;
  bool weighted = false;
  bool ok = true;
};

PartsRead read_parts(YamlMap& composite) {
  PartsRead out;
  const std::string path = composite.key_path("parts");
  if (!composite.require("parts")) {
    out.ok = false;
    return out;
  }
  const auto list = list_of(composite, "parts");
  if (!list) {
    out.ok = false;
    return out;
  }
  if (list->size() == 0) {
    composite.error("parts", path + " is empty: a composite needs at least one part");
    out.ok = false;
    return out;
  }
  std::optional<bool> first_weighted;  // what the first part that gave one gave
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string what = item_path(path, i);
    const YAML::Node node = (*list)[i];
    YamlMap item(node, what, composite.errors(), composite.value_position("parts"));
    if (!item.present()) {
      if (node.IsNull() || !node.IsDefined())
        composite.errors().add(config::value_position(node, composite.value_position("parts")),
                               what +
                                   " must be a mapping with `scorer` and `max_points` or "
                                   "`weight`, got nothing");
      out.ok = false;
      continue;
    }
    CompositePartConfig part;
    part.position = item.position();
    bool ok = true;
    if (item.require("scorer") && item.read("scorer", part.scorer)) {
      part.scorer_position = item.value_position("scorer");
      if (part.scorer.empty()) {
        item.error("scorer", what + ".scorer must name a configured scorer, got ''");
        ok = false;
      }
    } else {
      ok = false;
    }
    const bool has_max = item.has("max_points");
    const bool has_weight = item.has("weight");
    if (has_max && has_weight) {
      item.error("weight", what + " gives both max_points and weight: give one");
      ok = false;
    } else if (!has_max && !has_weight) {
      composite.errors().add(item.position(),
                             what + " needs max_points (its points at a score of 1) or weight");
      ok = false;
    } else {
      const std::string_view key = has_max ? "max_points" : "weight";
      if (auto points = read_positive(item, key))
        part.points = *points;
      else
        ok = false;
      if (!first_weighted) {
        first_weighted = has_weight;
      } else if (*first_weighted != has_weight) {
        item.error(key, what + " gives " + std::string(key) + " but " + item_path(path, 0) +
                            " gives " + (has_weight ? "max_points" : "weight") +
                            ": the parts of a composite all give max_points or all give weight");
        ok = false;
      }
    }
    if (ok &&
        std::ranges::any_of(out.parts, [&](const auto& p) { return p.scorer == part.scorer; })) {
      item.error("scorer", what + " repeats '" + part.scorer + "'");
      ok = false;
    }
    item.finish();
    if (ok)
      out.parts.push_back(std::move(part));
    else
      out.ok = false;
  }
  out.weighted = first_weighted.value_or(false);
  return out;
}

// `most_points`: the sum of the parts' points; 0 when the parts are wrong (the checks against
// it are then skipped).
bool read_bands(YamlMap& composite, double most_points, std::vector<IntentBand>& out) {
  const std::string path = composite.key_path("bands");
  const auto list = list_of(composite, "bands");
  if (!list) return !composite.has("bands") || composite.value("bands").IsSequence();
  if (list->size() == 0) {
    composite.error("bands", path + " is empty: list at least one band, or leave bands out");
    return false;
  }
  bool ok = true;
  std::vector<IntentBand> bands;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string what = item_path(path, i);
    const YAML::Node node = (*list)[i];
    YamlMap item(node, what, composite.errors(), composite.value_position("bands"));
    if (!item.present()) {
      if (node.IsNull() || !node.IsDefined())
        composite.errors().add(config::value_position(node, composite.value_position("bands")),
                               what +
                                   " must be a mapping with `label` and `min_points`, got "
                                   "nothing");
      ok = false;
      continue;
    }
    IntentBand band;
    bool item_ok = item.require("label") && item.read("label", band.label);
    if (item_ok) {
      if (band.label.find_first_not_of(" \t\r\n") == std::string::npos) {
        item.error("label", what + ".label must not be blank");
        item_ok = false;
      } else if (band.label.size() > domain::kMaxIntentBytes ||
                 !domain::is_utf8(band.label, /*printable=*/true)) {
        item.error("label", what + ".label must be printable text of at most " +
                                std::to_string(domain::kMaxIntentBytes) + " bytes");
        item_ok = false;
      } else if (std::ranges::any_of(bands, [&](const auto& b) { return b.label == band.label; })) {
        item.error("label", what + " repeats label '" + band.label + "'");
        item_ok = false;
      }
    }
    if (item.require("min_points") &&
        item.read("min_points", band.min_points, {-kMostPoints, kMostPoints})) {
      if (band.min_points < 0) {
        item.error("min_points",
                   what + ".min_points must not be negative, got " + text_of(band.min_points));
        item_ok = false;
      } else if (!bands.empty() && band.min_points == bands.back().min_points) {
        item.error("min_points", what + " repeats min_points " + text_of(band.min_points) + " of " +
                                     item_path(path, i - 1));
        item_ok = false;
      } else if (!bands.empty() && band.min_points > bands.back().min_points) {
        item.error("min_points", what + ".min_points " + text_of(band.min_points) +
                                     " is above that of " + item_path(path, i - 1) + " (" +
                                     text_of(bands.back().min_points) +
                                     "): list the bands from the highest min_points down");
        item_ok = false;
      } else if (most_points > 0 && band.min_points > most_points) {
        item.error("min_points", what + ".min_points " + text_of(band.min_points) +
                                     " is above the composite's most points (" +
                                     text_of(most_points) + "): no score reaches it");
        item_ok = false;
      }
    } else {
      item_ok = false;
    }
    item.finish();
    if (item_ok)
      bands.push_back(std::move(band));
    else
      ok = false;
  }
  if (ok && !bands.empty() && bands.back().min_points != 0) {
    composite.errors().add(
        config::value_position((*list)[list->size() - 1], composite.value_position("bands")),
        item_path(path, list->size() - 1) +
            " is the last band: its min_points must be 0, so that every score has an intent");
    ok = false;
  }
  if (ok) out = std::move(bands);
  return ok;
}

bool read_recommend(YamlMap& composite, double most_points, CompositeRules& rules) {
  rules.transfer_min_points = kDefaultTransferShare * most_points;
  rules.drop_max_points = kDefaultDropShare * most_points;
  YamlMap recommend = composite.map("recommend");
  bool ok = true;
  const config::NumberRange range{0, most_points > 0 ? most_points : kMostPoints};
  ok = (!recommend.has("transfer_min_points") ||
        recommend.read("transfer_min_points", rules.transfer_min_points, range)) &&
       ok;
  ok = (!recommend.has("drop_max_points") ||
        recommend.read("drop_max_points", rules.drop_max_points, range)) &&
       ok;
  if (ok && most_points > 0 && !(rules.drop_max_points < rules.transfer_min_points)) {
    const std::string_view key =
        recommend.has("drop_max_points") ? "drop_max_points" : "transfer_min_points";
    recommend.error(key, recommend.path() + ".drop_max_points (" + text_of(rules.drop_max_points) +
                             ") must be below transfer_min_points (" +
                             text_of(rules.transfer_min_points) + ")");
    ok = false;
  }
  recommend.finish();
  return ok;
}

}  // namespace

std::optional<CompositeConfig> read_composite(const YAML::Node& node, const std::string& path,
                                              Position at, YamlErrors& errors) {
  const std::size_t errors_before = errors.size();
  YamlMap composite(node, path, errors, at);
  if (!composite.present()) {
    if (!node.IsDefined() || node.IsNull())
      errors.add(at, path + " must be a mapping with `parts`, got nothing");
    return std::nullopt;
  }
  CompositeConfig out;
  PartsRead parts = read_parts(composite);
  double most_points = 0;
  if (parts.ok)
    for (const auto& part : parts.parts) most_points += part.points;
  bool ok = parts.ok;
  ok = read_bands(composite, most_points, out.rules.bands) && ok;
  ok = read_recommend(composite, most_points, out.rules) && ok;
  composite.finish();  // unknown keys, here and in the parts, bands and recommend, are errors
  if (!ok || errors.size() != errors_before) return std::nullopt;
  out.parts = std::move(parts.parts);
  out.weighted = parts.weighted;
  return out;
}

}  // namespace leadscore::scoring
