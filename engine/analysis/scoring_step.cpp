#include "engine/analysis/scoring_step.h"

#include <chrono>
#include <exception>
#include <expected>

#include "engine/domain/score_result.h"
#include "engine/scoring/plugin_scorer.h"

namespace leadscore::analysis {
namespace {

struct SingleRun {
  std::expected<ScoreResult, std::string> result;
  double latency_ms = 0;
};

// One run of one scorer: its result, or why the run failed, and how long it took.
SingleRun run_once(const ScorerSet& set, const Scorer& scorer, const Features& features) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  SingleRun run;
  try {
    run.result = scorer.score(features);
  } catch (const std::exception& e) {
    run.result = std::unexpected(std::string("threw: ") + e.what());
  } catch (...) {
    run.result = std::unexpected(std::string("threw an exception"));
  }
  run.latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  // A plugin's result was held to the contract as the adapter read it (with the scorer's name
  // in the message); the others are held to it here. Checking a result twice would only cost
  // time on every row of a batch.
  if (run.result && dynamic_cast<const scoring::PluginScorer*>(&scorer) == nullptr) {
    if (auto ok = domain::check(*run.result); !ok)
      run.result = std::unexpected("malformed result: " + ok.error());
  }
  const scoring::ScorerEntry* entry = set.entry_of(scorer);
  if (run.result && entry != nullptr && entry->budget_ms > 0 && run.latency_ms > entry->budget_ms)
    run.result =
        std::unexpected("took " + std::to_string(static_cast<long long>(run.latency_ms)) +
                        " ms, over its budget of " + std::to_string(entry->budget_ms) + " ms");
  return run;
}

}  // namespace

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
    SingleRun once = run_once(set, *at, features);
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
