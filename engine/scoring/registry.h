// The configured scorers of a running engine, built from the `plugins` and `scoring` sections
// of the config: each scorer is an instance of a plugin module loaded from plugins.dir
// (plugin_loader.h) with its params, or a composite of other configured scorers
// (composite_scorer.h); each has its fallback and its role (primary, shadow or neither).
//
// The set also carries the config's experiments (a reload swaps scorers and experiments
// together, so that an arm's scorer is always in the set an analysis runs on).
//
// Threading: a ScorerSet is immutable once built; safe to share between threads. It keeps its
// plugin modules loaded until it is destroyed.
#pragma once

#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config/app_config.h"
#include "engine/domain/experiment.h"
#include "engine/scoring/scorer.h"

namespace leadscore::scoring {

struct ScorerEntry {
  std::unique_ptr<Scorer> scorer;
  std::string plugin;       // as the config names it ("heuristic"); "composite" for a composite
  std::string role;         // "primary", "shadow" or "": set by ScorerSet from its arguments
  std::string fallback;     // the scorer that answers when this one fails; "" for none
  std::string plugin_path;  // the module file it was made from; "" when built in code
  int budget_ms = 0;        // a run taking longer fails; 0: no budget
};

class ScorerSet {
 public:
  // Throws std::invalid_argument when `primary`, a shadow or a fallback names no entry, when
  // the primary is also a shadow, or when fallbacks form a cycle (build_scorers reports these
  // as config errors before it gets here), or when an experiment's arm names no entry.
  ScorerSet(std::vector<ScorerEntry> entries, std::string primary,
            std::vector<std::string> shadow = {}, std::vector<domain::Experiment> experiments = {});

  const Scorer& primary() const;
  const Scorer* find(std::string_view name) const;  // nullptr when unknown
  const std::vector<ScorerEntry>& entries() const { return entries_; }
  const ScorerEntry* entry_of(const Scorer& scorer) const;  // nullptr when not in the set
  // The scorers to run beside the primary on every analysis, in config order.
  const std::vector<const Scorer*>& shadows() const { return shadows_; }
  // The scorer that answers when `scorer` fails; nullptr when it has none.
  const Scorer* fallback_of(const Scorer& scorer) const;
  // The configured experiments, in config order, and the active one (nullptr: none).
  const std::vector<domain::Experiment>& experiments() const { return experiments_; }
  const domain::Experiment* active_experiment() const {
    return active_ < experiments_.size() ? &experiments_[active_] : nullptr;
  }
  // The scorer of arm `arm` (an index) of the active experiment.
  const Scorer& arm_scorer(std::size_t arm) const { return *arm_scorers_.at(arm); }

 private:
  std::vector<ScorerEntry> entries_;
  std::vector<const Scorer*> fallbacks_;  // per entry
  std::vector<const Scorer*> shadows_;
  const Scorer* primary_ = nullptr;
  std::vector<domain::Experiment> experiments_;
  std::size_t active_ = static_cast<std::size_t>(-1);  // an index of experiments_; none past it
  std::vector<const Scorer*> arm_scorers_;             // of the active experiment, per arm
};

// The directory of the plugin modules when the config names none: where this build puts them.
std::string default_plugin_dir();

// Loads every plugin module the config names and builds every configured scorer. Every problem
// is reported with the config's position: a module that cannot be loaded (missing file, missing
// symbol, wrong ABI version: the message names the file), params the plugin refuses, a
// `fallback` or `shadow` naming no scorer, a fallback cycle, the primary listed as a shadow; a
// composite's definition that is wrong (composite_config.h), a part naming no scorer or a
// scorer that has errors of its own, a composite that contains itself (directly, or through
// other composites and the fallbacks of their parts, which answer for a part inside it).
std::expected<ScorerSet, std::vector<config::ConfigError>> build_scorers(
    const config::AppConfig& config);

// Runs the self test of every scorer of `scorers` whose plugin has one (include/leadscore/
// plugin.h, self_test), through the module that will serve it: the Lua plugin runs the rule
// tests of the scorer's configured script. Returns every problem of the tests that failed, at
// its file and line, each message naming the scorer ("scoring.scorers.rules: rule test ...");
// a problem without a file is reported at the scorer's params in `config`. Scorers whose plugin
// has no self test are not tested (that is neither a pass nor a failure).
std::vector<config::ConfigError> run_self_tests(const ScorerSet& scorers,
                                                const config::AppConfig& config);

}  // namespace leadscore::scoring
