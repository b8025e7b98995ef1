// One run of one scorer, held to the result contract and to a time budget: the step that every
// run shares, whether the analysis pipeline runs a scorer and its fallbacks
// (engine/analysis/scoring_step.h) or a composite scorer runs its parts (composite_scorer.h).
//
// Threading: safe from any thread (scorers are).
#pragma once

#include <expected>
#include <optional>
#include <string>

#include "engine/scoring/scorer.h"

namespace leadscore::scoring {

struct CheckedRun {
  // The result, or why the run failed.
  std::expected<ScoreResult, std::string> result;
  double latency_ms = 0;
  // What the scorer kept of the run for audit (Scorer::run), answered or failed: a JSON object
  // text, held to the audit's rules (checked_audit, plugin_scorer.h).
  std::optional<std::string> audit;
};

// Runs `scorer` once (Scorer::run). The run fails when the scorer returns an error or throws, when
// its result breaks the result contract (domain::check; a plugin's result was already held to it by
// the plugin adapter, which is not repeated), or when it took longer than `budget_ms` (0: no
// budget; the result is then discarded: the scorer cannot be interrupted). Never throws (short of
// std::bad_alloc).
CheckedRun run_checked(const Scorer& scorer, int budget_ms, const Features& features);

}  // namespace leadscore::scoring
