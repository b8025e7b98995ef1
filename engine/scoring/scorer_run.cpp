#include "engine/scoring/scorer_run.h"

#include <chrono>
#include <exception>

#include "engine/domain/score_result.h"
#include "engine/scoring/plugin_scorer.h"

namespace leadscore::scoring {

CheckedRun run_checked(const Scorer& scorer, int budget_ms, const Features& features) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  CheckedRun run;
  try {
    ScorerAnswer answer = scorer.run(features);
    run.result = std::move(answer.result);
    run.audit = std::move(answer.audit);
  } catch (const std::exception& e) {
    run.result = std::unexpected(std::string("threw: ") + e.what());
  } catch (...) {
    run.result = std::unexpected(std::string("threw an exception"));
  }
  run.latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  // A plugin's result and audit were held to the contract as the adapter read them (with the
  // scorer's name in the message); the others are held to it here. Checking a result twice
  // would only cost time on every row of a batch.
  if (dynamic_cast<const PluginScorer*>(&scorer) == nullptr) {
    if (run.result)
      if (auto ok = domain::check(*run.result); !ok)
        run.result = std::unexpected("malformed result: " + ok.error());
    if (run.audit) run.audit = checked_audit(*run.audit);
  }
  if (run.result && budget_ms > 0 && run.latency_ms > budget_ms)
    run.result = std::unexpected("took " + std::to_string(static_cast<long long>(run.latency_ms)) +
                                 " ms, over its budget of " + std::to_string(budget_ms) + " ms");
  return run;
}

}  // namespace leadscore::scoring
