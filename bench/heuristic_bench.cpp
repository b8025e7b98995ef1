// The heuristic scorer: the numeric core (evaluate), the full result with labels and reason
// (score), and the same through the plugin module heuristic.so as the engine runs it.
// Results and the command are in bench/README.md.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/sample_leads.h"
#include "engine/scoring/plugin_scorer.h"
#include "plugins/heuristic/heuristic_scorer.h"

namespace {

using leadscore::heuristic::HeuristicScorer;

using leadscore::bench::sample_leads;

void BM_HeuristicEvaluate(benchmark::State& state) {
  const HeuristicScorer scorer("heuristic");
  const auto leads = sample_leads();
  std::size_t i = 0;
  for (auto _ : state) {
    auto evaluation = scorer.evaluate(leads[i++ & 1023]);
    benchmark::DoNotOptimize(evaluation);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HeuristicEvaluate);

void BM_HeuristicScoreWithReason(benchmark::State& state) {
  const HeuristicScorer scorer("heuristic");
  const auto leads = sample_leads();
  std::size_t i = 0;
  for (auto _ : state) {
    auto result = scorer.score(leads[i++ & 1023]);
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HeuristicScoreWithReason);

// The engine's path: PluginScorer converts the features to the C structs, heuristic.so scores
// into its per-thread buffers, and the adapter checks the result and copies it out.
void BM_HeuristicPluginScore(benchmark::State& state) {
  using leadscore::scoring::PluginModule;
  using leadscore::scoring::PluginScorer;
  auto module = PluginModule::load(std::string(LEADSCORE_PLUGIN_DIR) + "/heuristic.so");
  if (!module) {
    state.SkipWithError(module.error().c_str());
    return;
  }
  auto scorer = PluginScorer::create(*module, "heuristic", "{}", "/");
  if (!scorer) {
    state.SkipWithError(scorer.error().c_str());
    return;
  }
  // The same leads as the engine holds them.
  std::vector<leadscore::domain::Features> leads;
  for (const auto& lead : sample_leads()) {
    leadscore::domain::Features f;
    f.source = lead.source;
    f.stage = static_cast<leadscore::domain::LeadStage>(lead.stage);
    f.activity_count = lead.activity_count;
    f.business_domain = lead.business_domain;
    leads.push_back(std::move(f));
  }
  std::size_t i = 0;
  for (auto _ : state) {
    auto result = (*scorer)->score(leads[i++ & 1023]);
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HeuristicPluginScore);

}  // namespace

BENCHMARK_MAIN();
