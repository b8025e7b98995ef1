#include "engine/scoring/registry.h"

#include <algorithm>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "engine/config/yaml_reader.h"
#include "engine/scoring/composite_config.h"
#include "engine/scoring/params_json.h"
#include "engine/scoring/plugin_loader.h"
#include "engine/scoring/plugin_scorer.h"

#ifndef LEADSCORE_PLUGIN_DIR
#error "LEADSCORE_PLUGIN_DIR must name the build's plugin directory"
#endif

namespace leadscore::scoring {
namespace {

using config::ConfigError;
using config::Position;
using config::YamlErrors;

// A module file: `plugin: heuristic` is <plugins.dir>/heuristic.so; a value with a '/' is a
// path to the module itself, relative to the config file's directory.
std::string module_path(const config::AppConfig& config, const std::string& plugin) {
  namespace fs = std::filesystem;
  if (plugin.find('/') != std::string::npos) {
    const fs::path p(plugin);
    return (p.is_absolute() ? p : fs::path(config.dir) / p).lexically_normal().string();
  }
  const std::string dir = config.plugins.dir.empty() ? default_plugin_dir() : config.plugins.dir;
  return (fs::path(dir) / (plugin + ".so")).lexically_normal().string();
}

// The plugin's messages about its params, each at the line of the config it points to.
void report_params_errors(const config::ScorerConfig& scorer, const ParamsJson& params,
                          const std::string& message, YamlErrors& errors) {
  const std::string prefix = "scoring.scorers." + scorer.name + ": ";
  const auto messages = split_plugin_messages(message);
  if (messages.empty())
    errors.add(scorer.params_position, prefix + "the plugin refused its params");
  for (const auto& m : messages)
    errors.add(m.line > 0 ? params.position_of_line(m.line) : scorer.params_position,
               prefix + m.text);
}

// Every fallback names a configured scorer, and following fallbacks never comes back.
void check_fallbacks(const config::ScoringConfig& scoring, YamlErrors& errors) {
  std::map<std::string, const config::ScorerConfig*, std::less<>> by_name;
  for (const auto& scorer : scoring.scorers) by_name.emplace(scorer.name, &scorer);
  for (const auto& scorer : scoring.scorers) {
    if (scorer.fallback.empty() || scorer.fallback == scorer.name) continue;  // self: read
    if (!by_name.contains(scorer.fallback)) {
      errors.add(scorer.fallback_position, "scoring.scorers." + scorer.name + ".fallback '" +
                                               scorer.fallback + "' names no configured scorer");
      continue;
    }
    // Follow the chain from this scorer: a cycle is reported at each scorer on it.
    std::vector<std::string> chain{scorer.name};
    const config::ScorerConfig* at = by_name.at(scorer.fallback);
    while (at != nullptr && std::ranges::find(chain, at->name) == chain.end()) {
      chain.push_back(at->name);
      auto next = by_name.find(at->fallback);
      at = next == by_name.end() ? nullptr : next->second;
    }
    if (at != nullptr && at->name == scorer.name) {
      std::string cycle;
      for (const auto& name : chain) cycle += name + " -> ";
      errors.add(scorer.fallback_position, "scoring.scorers." + scorer.name +
                                               ".fallback makes a cycle: " + cycle + scorer.name);
    }
  }
}

using ScorerIndex = std::map<std::string, std::size_t, std::less<>>;

// The scorers a run of scorer `at` may start by itself: a composite runs its parts, and a
// scorer that fails inside a composite's part is answered by its fallback there. Following
// these from a composite's parts must never come back to it, or its run would never end.
struct RunStep {
  std::size_t scorer;
  bool by_fallback;
};

std::vector<RunStep> steps_of(const config::ScoringConfig& scoring, const ScorerIndex& index,
                              const std::vector<std::optional<CompositeConfig>>& composites,
                              std::size_t at) {
  std::vector<RunStep> steps;
  if (composites[at])
    for (const auto& part : composites[at]->parts)
      if (auto it = index.find(part.scorer); it != index.end())
        steps.push_back({it->second, false});
  if (auto it = index.find(scoring.scorers[at].fallback); it != index.end())
    steps.push_back({it->second, true});
  return steps;
}

// Whether run steps lead from `from` to `target`; `way` then says how (" -> c (fallback) -> a").
bool find_way_back(const config::ScoringConfig& scoring, const ScorerIndex& index,
                   const std::vector<std::optional<CompositeConfig>>& composites, std::size_t from,
                   std::size_t target, std::vector<bool>& seen, std::string& way) {
  if (from == target) return true;
  if (seen[from]) return false;
  seen[from] = true;
  for (const RunStep& step : steps_of(scoring, index, composites, from)) {
    std::string rest;
    if (find_way_back(scoring, index, composites, step.scorer, target, seen, rest)) {
      way = " -> " + scoring.scorers[step.scorer].name + (step.by_fallback ? " (fallback)" : "") +
            rest;
      return true;
    }
  }
  return false;
}

// Every part of every composite names a configured scorer that can run (one that loaded, or a
// composite whose definition is right), and no composite contains itself, directly or through
// other composites and the fallbacks of their parts.
void check_composites(const config::ScoringConfig& scoring, const ScorerIndex& index,
                      const std::vector<std::optional<CompositeConfig>>& composites,
                      const std::vector<bool>& usable, YamlErrors& errors) {
  for (std::size_t c = 0; c < composites.size(); ++c) {
    if (!composites[c]) continue;
    const std::string& name = scoring.scorers[c].name;
    const auto& parts = composites[c]->parts;
    for (std::size_t p = 0; p < parts.size(); ++p) {
      const std::string what =
          "scoring.scorers." + name + ".composite.parts[" + std::to_string(p) + "]";
      const auto it = index.find(parts[p].scorer);
      if (it == index.end()) {
        errors.add(parts[p].scorer_position,
                   what + ".scorer '" + parts[p].scorer + "' names no configured scorer");
        continue;
      }
      if (it->second == c) {
        errors.add(parts[p].scorer_position, what + " names the composite itself");
        continue;
      }
      std::vector<bool> seen(scoring.scorers.size(), false);
      std::string way;
      if (find_way_back(scoring, index, composites, it->second, c, seen, way)) {
        errors.add(parts[p].scorer_position, what + " '" + parts[p].scorer + "' contains " + name +
                                                 " again: " + name + " -> " + parts[p].scorer +
                                                 way);
        continue;
      }
      if (!usable[it->second])
        errors.add(parts[p].scorer_position,
                   what + " '" + parts[p].scorer +
                       "' cannot run: that scorer has errors of its own (reported at it)");
    }
  }
}

// Who answers for a part: its scorer, then its fallbacks in order, each with its budget.
// Every one of them is in `entries` (build_composites makes a composite only then).
std::vector<PartRunner> runners_of(const config::ScoringConfig& scoring, const ScorerIndex& index,
                                   const std::vector<std::optional<ScorerEntry>>& entries,
                                   std::size_t part) {
  std::vector<PartRunner> runners;
  std::optional<std::size_t> at = part;
  // Fallback cycles are refused before; the bound is a second guard.
  while (at && runners.size() <= entries.size()) {
    runners.push_back(
        {entries[*at] ? entries[*at]->scorer.get() : nullptr, scoring.scorers[*at].budget_ms});
    const auto next = index.find(scoring.scorers[*at].fallback);
    at = next == index.end() ? std::nullopt : std::optional<std::size_t>(next->second);
  }
  return runners;
}

// Makes every composite once all the scorers its parts may run exist: parts that are
// composites first. The checks before guarantee that each pass makes at least one.
void build_composites(const config::ScoringConfig& scoring, const ScorerIndex& index,
                      const std::vector<std::optional<CompositeConfig>>& composites,
                      std::vector<std::optional<ScorerEntry>>& entries) {
  for (bool progress = true; progress;) {
    progress = false;
    for (std::size_t c = 0; c < composites.size(); ++c) {
      if (!composites[c] || entries[c]) continue;
      std::vector<CompositePart> parts;
      bool ready = true;
      for (const auto& part : composites[c]->parts) {
        auto runners = runners_of(scoring, index, entries, index.at(part.scorer));
        ready = ready && std::ranges::none_of(
                             runners, [](const PartRunner& r) { return r.scorer == nullptr; });
        parts.push_back({part.scorer, part.points, std::move(runners)});
      }
      if (!ready) continue;
      const config::ScorerConfig& scorer = scoring.scorers[c];
      ScorerEntry entry;
      entry.scorer =
          std::make_unique<CompositeScorer>(scorer.name, std::move(parts), composites[c]->rules);
      entry.plugin = "composite";
      entry.fallback = scorer.fallback;
      entry.budget_ms = scorer.budget_ms;
      entries[c] = std::move(entry);
      progress = true;
    }
  }
}

void check_shadows(const config::ScoringConfig& scoring, YamlErrors& errors) {
  for (std::size_t i = 0; i < scoring.shadow.size(); ++i) {
    const std::string& name = scoring.shadow[i];
    const Position at =
        i < scoring.shadow_positions.size() ? scoring.shadow_positions[i] : scoring.position;
    const std::string what = "scoring.shadow[" + std::to_string(i) + "]";
    if (std::ranges::none_of(scoring.scorers, [&](const auto& s) { return s.name == name; }))
      errors.add(at, what + " '" + name + "' names no configured scorer");
    else if (name == scoring.primary)
      errors.add(at, what + " '" + name + "' is the primary scorer: a shadow runs beside it");
    else if (std::find(scoring.shadow.begin(), scoring.shadow.begin() + static_cast<long>(i),
                       name) != scoring.shadow.begin() + static_cast<long>(i))
      errors.add(at, what + " repeats '" + name + "'");
  }
}

}  // namespace

std::string default_plugin_dir() { return LEADSCORE_PLUGIN_DIR; }

ScorerSet::ScorerSet(std::vector<ScorerEntry> entries, std::string primary,
                     std::vector<std::string> shadow, std::vector<domain::Experiment> experiments)
    : entries_(std::move(entries)), experiments_(std::move(experiments)) {
  primary_ = find(primary);
  if (primary_ == nullptr)
    throw std::invalid_argument("ScorerSet: primary scorer '" + primary + "' is not in the set");
  for (const auto& name : shadow) {
    const Scorer* s = find(name);
    if (s == nullptr || s == primary_)
      throw std::invalid_argument("ScorerSet: shadow scorer '" + name +
                                  "' is not in the set or is the primary");
    shadows_.push_back(s);
  }
  for (auto& entry : entries_) {
    const Scorer* s = entry.scorer.get();
    entry.role = s == primary_                                      ? "primary"
                 : std::ranges::find(shadows_, s) != shadows_.end() ? "shadow"
                                                                    : "";
    const Scorer* fallback = nullptr;
    if (!entry.fallback.empty()) {
      fallback = find(entry.fallback);
      if (fallback == nullptr || fallback == s)
        throw std::invalid_argument("ScorerSet: fallback '" + entry.fallback + "' of '" +
                                    s->name() + "' is not another scorer of the set");
    }
    fallbacks_.push_back(fallback);
  }
  // No chain of fallbacks may come back to where it started.
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const Scorer* at = fallbacks_[i];
    for (std::size_t steps = 0; at != nullptr; ++steps) {
      if (at == entries_[i].scorer.get() || steps > entries_.size())
        throw std::invalid_argument("ScorerSet: the fallbacks of '" + entries_[i].scorer->name() +
                                    "' form a cycle");
      at = fallback_of(*at);
    }
  }
  for (std::size_t i = 0; i < experiments_.size(); ++i) {
    const domain::Experiment& experiment = experiments_[i];
    for (const domain::ExperimentArm& arm : experiment.arms)
      if (find(arm.scorer) == nullptr)
        throw std::invalid_argument("ScorerSet: arm '" + arm.name + "' of experiment '" +
                                    experiment.name + "' names no scorer of the set");
    if (!experiment.active || active_experiment() != nullptr || experiment.arms.empty()) continue;
    active_ = i;
    for (const domain::ExperimentArm& arm : experiment.arms)
      arm_scorers_.push_back(find(arm.scorer));
  }
}

const Scorer& ScorerSet::primary() const { return *primary_; }

const Scorer* ScorerSet::find(std::string_view name) const {
  for (const auto& entry : entries_)
    if (entry.scorer && entry.scorer->name() == name) return entry.scorer.get();
  return nullptr;
}

const ScorerEntry* ScorerSet::entry_of(const Scorer& scorer) const {
  for (const auto& entry : entries_)
    if (entry.scorer.get() == &scorer) return &entry;
  return nullptr;
}

const Scorer* ScorerSet::fallback_of(const Scorer& scorer) const {
  for (std::size_t i = 0; i < entries_.size() && i < fallbacks_.size(); ++i)
    if (entries_[i].scorer.get() == &scorer) return fallbacks_[i];
  return nullptr;
}

std::expected<ScorerSet, std::vector<ConfigError>> build_scorers(const config::AppConfig& config) {
  const config::ScoringConfig& scoring = config.scoring;
  YamlErrors errors(config.path);
  if (scoring.scorers.empty())
    errors.add(scoring.position, "scoring.scorers is empty: configure at least one scorer");

  // Each module is loaded once, however many scorers use it. Composites are read here and made
  // once every scorer they may run exists.
  std::map<std::string, std::shared_ptr<const PluginModule>, std::less<>> modules;
  std::map<std::string, std::string, std::less<>> module_errors;
  const std::size_t count = scoring.scorers.size();
  std::vector<std::optional<ScorerEntry>> entries(count);
  std::vector<std::optional<CompositeConfig>> composites(count);
  ScorerIndex index;
  for (std::size_t i = 0; i < count; ++i) {
    const config::ScorerConfig& scorer = scoring.scorers[i];
    index.emplace(scorer.name, i);
    const std::string path = "scoring.scorers." + scorer.name;
    if (scorer.is_composite()) {
      composites[i] =
          read_composite(scorer.composite, path + ".composite", scorer.composite_position, errors);
      continue;
    }
    const std::string file = module_path(config, scorer.plugin);
    std::shared_ptr<const PluginModule> module;
    if (auto it = modules.find(file); it != modules.end()) {
      module = it->second;
    } else if (!module_errors.contains(file)) {
      auto loaded = PluginModule::load(file);
      if (loaded)
        module = modules.emplace(file, std::move(*loaded)).first->second;
      else
        module_errors.emplace(file, loaded.error());
    }
    if (!module) {
      errors.add(scorer.plugin_position,
                 path + ".plugin '" + scorer.plugin + "': " + module_errors.at(file));
      continue;
    }
    const ParamsJson params = params_to_json(scorer.params, scorer.params_position);
    if (!params.problems.empty()) {
      for (const auto& problem : params.problems)
        errors.add(problem.at, path + ": " + problem.message);
      continue;
    }
    auto made = PluginScorer::create(module, scorer.name, params.text, config.dir);
    if (!made) {
      report_params_errors(scorer, params, made.error(), errors);
      continue;
    }
    // A slow run is never waited for past the moment the request must be answered: a budget
    // beyond it could never be spent, and would only mislead whoever reads the config.
    const int limit = config::slow_run_limit_ms(config.server);
    if (module->slow() && scorer.budget_ms >= limit)
      errors.add(scorer.position,
                 path + ".budget_ms (" + std::to_string(scorer.budget_ms) + ") must be below " +
                     std::to_string(limit) + " ms for a slow scorer (plugin " + module->name() +
                     " is flagged LS_PLUGIN_SLOW): a request must be answered before "
                     "server.header_timeout_ms (" +
                     std::to_string(config.server.header_timeout_ms) +
                     ") less the time its fallback and the store need");
    ScorerEntry entry;
    entry.scorer = std::move(*made);
    entry.plugin = scorer.plugin;
    entry.fallback = scorer.fallback;
    entry.plugin_path = file;
    entry.budget_ms = scorer.budget_ms;
    entries[i] = std::move(entry);
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
  check_fallbacks(scoring, errors);
  check_shadows(scoring, errors);
  std::vector<bool> usable(count);
  for (std::size_t i = 0; i < count; ++i)
    usable[i] = entries[i].has_value() || composites[i].has_value();
  check_composites(scoring, index, composites, usable, errors);

  if (!errors.empty()) {
    errors.sort_by_position();
    return std::unexpected(errors.take());
  }
  try {
    build_composites(scoring, index, composites, entries);
    std::vector<ScorerEntry> made;
    for (std::size_t i = 0; i < count; ++i) {
      if (!entries[i])
        throw std::logic_error("composite scorer " + scoring.scorers[i].name + " was not made");
      made.push_back(std::move(*entries[i]));
    }
    return ScorerSet(std::move(made), scoring.primary, scoring.shadow, config.experiments);
  } catch (const std::exception& e) {
    errors.add(scoring.position, std::string("scoring: ") + e.what());
    return std::unexpected(errors.take());
  }
}

std::vector<ConfigError> run_self_tests(const ScorerSet& scorers, const config::AppConfig& config) {
  std::vector<ConfigError> errors;
  for (const auto& entry : scorers.entries()) {
    const auto* plugin = dynamic_cast<const PluginScorer*>(entry.scorer.get());
    if (plugin == nullptr || !plugin->has_self_test()) continue;
    const SelfTestResult tested = plugin->self_test();
    if (tested.outcome != SelfTestResult::Outcome::Failed) continue;
    const std::string& name = entry.scorer->name();
    Position params_at;
    for (const auto& scorer : config.scoring.scorers)
      if (scorer.name == name) params_at = scorer.params_position;
    for (const auto& problem : tested.problems) {
      const std::string message = "scoring.scorers." + name + ": " + problem.message;
      if (problem.file.empty())
        errors.push_back(ConfigError::at(config.path, params_at, message));
      else
        errors.push_back({problem.file, problem.line, 0, message});
    }
  }
  return errors;
}

}  // namespace leadscore::scoring
