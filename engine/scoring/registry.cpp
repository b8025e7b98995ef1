#include "engine/scoring/registry.h"

#include <algorithm>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string_view>

#include "engine/config/yaml_reader.h"
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
                     std::vector<std::string> shadow)
    : entries_(std::move(entries)) {
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

  // Each module is loaded once, however many scorers use it.
  std::map<std::string, std::shared_ptr<const PluginModule>, std::less<>> modules;
  std::map<std::string, std::string, std::less<>> module_errors;
  std::vector<ScorerEntry> entries;
  for (const auto& scorer : scoring.scorers) {
    const std::string path = "scoring.scorers." + scorer.name;
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
    entries.push_back(std::move(entry));
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

  if (!errors.empty()) {
    errors.sort_by_position();
    return std::unexpected(errors.take());
  }
  try {
    return ScorerSet(std::move(entries), scoring.primary, scoring.shadow);
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
