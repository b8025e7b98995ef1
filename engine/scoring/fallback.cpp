#include "engine/scoring/fallback.h"

#include <chrono>
#include <exception>

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

FallbackRun run_with_fallback(const ScorerSet& set, const Scorer& scorer,
                              const Features& features) {
  using Clock = std::chrono::steady_clock;
  FallbackRun run;
  const Scorer* at = &scorer;
  // Fallback cycles are refused when the set is built; the bound is a second guard.
  for (std::size_t step = 0; at != nullptr && step <= set.entries().size(); ++step) {
    const ScorerEntry* entry = set.entry_of(*at);
    const auto start = Clock::now();
    std::expected<ScoreResult, std::string> result;
    try {
      result = at->score(features);
    } catch (const std::exception& e) {
      result = std::unexpected(std::string("threw: ") + e.what());
    } catch (...) {
      result = std::unexpected(std::string("threw an exception"));
    }
    const double latency_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    // Plugin results were checked by the plugin adapter; check the others here.
    if (result && dynamic_cast<const PluginScorer*>(at) == nullptr) {
      if (auto ok = check_result(*result); !ok)
        result = std::unexpected("malformed result: " + ok.error());
    }
    if (result && entry != nullptr && entry->budget_ms > 0 && latency_ms > entry->budget_ms)
      result =
          std::unexpected("took " + std::to_string(static_cast<long long>(latency_ms)) +
                          " ms, over its budget of " + std::to_string(entry->budget_ms) + " ms");
    if (result) {
      run.result = std::move(*result);
      run.scorer = at;
      run.latency_ms = latency_ms;
      return run;
    }
    run.failures.push_back({at->name(), at->version(), result.error(), latency_ms});
    at = set.fallback_of(*at);
  }
  return run;
}

}  // namespace leadscore::scoring
