#include "engine/scoring/fallback.h"

#include <chrono>
#include <exception>

#include "engine/domain/score_result.h"
#include "engine/scoring/plugin_scorer.h"

namespace leadscore::scoring {

std::string FallbackRun::failure_summary() const {
  std::string out;
  for (const auto& failure : failures) {
    if (!out.empty()) out += "; ";
    out += "scorer " + failure.scorer + " failed: " + failure.error;
  }
  return out;
}

ScorerRun run_scorer(const ScorerSet& set, const Scorer& scorer, const Features& features) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  ScorerRun run;
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
  if (run.result && dynamic_cast<const PluginScorer*>(&scorer) == nullptr) {
    if (auto ok = domain::check(*run.result); !ok)
      run.result = std::unexpected("malformed result: " + ok.error());
  }
  const ScorerEntry* entry = set.entry_of(scorer);
  if (run.result && entry != nullptr && entry->budget_ms > 0 && run.latency_ms > entry->budget_ms)
    run.result =
        std::unexpected("took " + std::to_string(static_cast<long long>(run.latency_ms)) +
                        " ms, over its budget of " + std::to_string(entry->budget_ms) + " ms");
  return run;
}

FallbackRun run_with_fallback(const ScorerSet& set, const Scorer& scorer,
                              const Features& features) {
  FallbackRun run;
  const Scorer* at = &scorer;
  // Fallback cycles are refused when the set is built; the bound is a second guard.
  for (std::size_t step = 0; at != nullptr && step <= set.entries().size(); ++step) {
    ScorerRun once = run_scorer(set, *at, features);
    if (once.result) {
      run.result = std::move(*once.result);
      run.scorer = at;
      run.latency_ms = once.latency_ms;
      return run;
    }
    run.failures.push_back({at->name(), at->version(), once.result.error(), once.latency_ms});
    at = set.fallback_of(*at);
  }
  return run;
}

}  // namespace leadscore::scoring
