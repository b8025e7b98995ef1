#include "engine/analysis/scoring_step.h"

#include "engine/scoring/scorer_run.h"

namespace leadscore::analysis {

std::string ScoringRun::failure_summary() const {
  std::string out;
  for (const auto& failure : failures) {
    if (!out.empty()) out += "; ";
    out += "scorer " + failure.scorer + " failed: " + failure.error;
  }
  return out;
}

ScoringRun score_features(const ScorerSet& set, const Scorer& scorer, const Features& features,
                          Fallbacks fallbacks) {
  ScoringRun run;
  const Scorer* at = &scorer;
  // Fallback cycles are refused when the set is built; the bound is a second guard.
  for (std::size_t step = 0; at != nullptr && step <= set.entries().size(); ++step) {
    const scoring::ScorerEntry* entry = set.entry_of(*at);
    scoring::CheckedRun once =
        scoring::run_checked(*at, entry != nullptr ? entry->budget_ms : 0, features);
    if (once.result) {
      run.result = std::move(*once.result);
      run.scorer = at;
      run.latency_ms = once.latency_ms;
      return run;
    }
    run.failures.push_back({at->name(), at->version(), once.result.error(), once.latency_ms});
    at = fallbacks == Fallbacks::Follow ? set.fallback_of(*at) : nullptr;
  }
  return run;
}

}  // namespace leadscore::analysis
