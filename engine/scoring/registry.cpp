#include "engine/scoring/registry.h"

#include <algorithm>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string_view>

#include "engine/config/yaml_reader.h"
#include "engine/scoring/heuristic_scorer.h"

namespace leadscore::scoring {
namespace {

using config::ConfigError;
using config::YamlErrors;
using config::YamlMap;

// Makes one scorer instance. Problems with its params go to params.errors(); the result is
// discarded when any were reported.
using CreateScorer = std::unique_ptr<Scorer> (*)(const config::ScorerConfig& scorer,
                                                 YamlMap& params);

struct BuiltinPlugin {
  std::string_view name;
  CreateScorer create;
};

std::unique_ptr<Scorer> create_heuristic(const config::ScorerConfig& scorer, YamlMap& params) {
  return std::make_unique<HeuristicScorer>(scorer.name, read_heuristic_params(params));
}

// Every built-in plugin, in one place. (Plugins loaded from shared modules come later.)
constexpr BuiltinPlugin kBuiltinPlugins[] = {
    {"heuristic", &create_heuristic},
};

const BuiltinPlugin* find_plugin(std::string_view name) {
  for (const auto& plugin : kBuiltinPlugins)
    if (plugin.name == name) return &plugin;
  return nullptr;
}

std::string builtin_plugin_names() {
  std::string names;
  for (const auto& plugin : kBuiltinPlugins) {
    if (!names.empty()) names += ", ";
    names += plugin.name;
  }
  return names;
}

}  // namespace

ScorerSet::ScorerSet(std::vector<ScorerEntry> entries, std::string primary)
    : entries_(std::move(entries)) {
  primary_ = find(primary);
  if (primary_ == nullptr)
    throw std::invalid_argument("ScorerSet: primary scorer '" + primary + "' is not in the set");
}

const Scorer& ScorerSet::primary() const { return *primary_; }

const Scorer* ScorerSet::find(std::string_view name) const {
  for (const auto& entry : entries_)
    if (entry.scorer && entry.scorer->name() == name) return entry.scorer.get();
  return nullptr;
}

std::expected<ScorerSet, std::vector<ConfigError>> build_scorers(const config::AppConfig& config) {
  const config::ScoringConfig& scoring = config.scoring;
  YamlErrors errors(config.path);
  if (scoring.scorers.empty())
    errors.add(scoring.position,
               "scoring.scorers is empty: configure at least one scorer (built-in plugins: " +
                   builtin_plugin_names() + ")");

  std::vector<ScorerEntry> entries;
  for (const auto& scorer : scoring.scorers) {
    const std::string path = "scoring.scorers." + scorer.name;
    const BuiltinPlugin* plugin = find_plugin(scorer.plugin);
    if (plugin == nullptr) {
      errors.add(scorer.plugin_position, path + ".plugin: unknown plugin '" + scorer.plugin +
                                             "' (built-in plugins: " + builtin_plugin_names() +
                                             ")");
      continue;
    }
    const std::size_t before = errors.size();
    YamlMap params(scorer.params, path + ".params", errors, scorer.position);
    std::unique_ptr<Scorer> made;
    try {
      made = plugin->create(scorer, params);
    } catch (const std::exception& e) {
      errors.add(scorer.position, path + ": " + e.what());
    }
    if (errors.size() != before || !made) continue;
    entries.push_back(
        {std::move(made), scorer.plugin, scorer.name == scoring.primary ? "primary" : ""});
  }

  const bool primary_configured = std::ranges::any_of(
      scoring.scorers, [&](const auto& scorer) { return scorer.name == scoring.primary; });
  if (!scoring.scorers.empty() && !primary_configured) {
    std::string names;
    for (const auto& scorer : scoring.scorers) names += (names.empty() ? "" : ", ") + scorer.name;
    errors.add(scoring.primary_position, "scoring.primary '" + scoring.primary +
                                             "' names no configured scorer (configured: " + names +
                                             ")");
  }

  if (!errors.empty()) {
    errors.sort_by_position();
    return std::unexpected(errors.take());
  }
  return ScorerSet(std::move(entries), scoring.primary);
}

}  // namespace leadscore::scoring
