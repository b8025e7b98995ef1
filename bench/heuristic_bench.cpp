// The heuristic scorer: the numeric core (evaluate), the full result with labels and reason
// (score), and the same through the plugin module heuristic.so as the engine runs it.
// Results and the command are in bench/README.md.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/scoring/plugin_scorer.h"
#include "plugins/heuristic/heuristic_scorer.h"

namespace {

using leadscore::domain::kAllLeadStages;
using leadscore::scoring::Features;
using leadscore::scoring::HeuristicScorer;

// 1024 leads covering every source (and unknown ones), stage, activity band and domain kind,
// in an order that defeats branch prediction as real traffic would.
std::vector<Features> sample_leads() {
  const char* sources[] = {"scanner", "partner", "manual", "webinar", "partner", "scanner"};
  const std::optional<std::string> domains[] = {"example.com", std::nullopt, "   ", "acme.io"};
  std::vector<Features> leads;
  std::uint64_t x = 88172645463325252ull;  // xorshift: a fixed, repeatable order
  for (int i = 0; i < 1024; ++i) {
    auto next = [&x] {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      return x;
    };
    Features f;
    f.source = sources[next() % std::size(sources)];
    f.stage = kAllLeadStages[next() % 5];
    f.activity_count = static_cast<std::int64_t>(next() % 13);
    f.business_domain = domains[next() % std::size(domains)];
    leads.push_back(std::move(f));
  }
  return leads;
}

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
  const auto leads = sample_leads();
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
