// The comparison's statistics alone (engine/scoring/comparison.h) over 1,000,000 leads of two
// scorers, apart from reading and scoring: every metric without the bootstrap, the bootstrap's
// 200 resamples of one scorer, Kendall's tau-b and DeLong's test. Scores on a grid of 1/100
// (ties, as rule-based scorers give) or continuous.
#include <benchmark/benchmark.h>

#include <cstdint>

#include "engine/scoring/comparison.h"

namespace {

using namespace leadscore;

struct Leads {
  scoring::ScorerRun a{"a", {}, {}}, b{"b", {}, {}};
  std::vector<std::optional<bool>> outcomes;
};

const Leads& leads(bool grid) {
  static Leads cached[2];
  Leads& l = cached[grid ? 1 : 0];
  if (!l.outcomes.empty()) return l;
  std::uint64_t state = 1;
  const auto uniform = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / 9007199254740992.0;
  };
  for (int i = 0; i < 1000000; ++i) {
    const bool converted = uniform() < 0.25;
    double sa = 0.5 * uniform() + (converted ? 0.3 : 0.1), sb = 0.7 * sa + 0.3 * uniform();
    if (grid) {
      sa = static_cast<int>(sa * 100) / 100.0;
      sb = static_cast<int>(sb * 100) / 100.0;
    }
    l.a.scores.emplace_back(sa);
    l.b.scores.emplace_back(sb);
    l.a.recommendations.emplace_back(domain::Recommendation::ContinueQualification);
    l.b.recommendations.emplace_back(domain::Recommendation::ContinueQualification);
    l.outcomes.emplace_back(i % 10 == 9 ? std::nullopt : std::optional<bool>(converted));
  }
  return l;
}

void CompareScorers(benchmark::State& state) {
  const Leads& l = leads(state.range(0) != 0);
  scoring::ComparisonSettings settings;
  settings.bootstrap = static_cast<std::size_t>(state.range(1));
  for (auto _ : state)
    benchmark::DoNotOptimize(scoring::compare_scorers({l.a, l.b}, l.outcomes, settings));
}
BENCHMARK(CompareScorers)
    ->ArgNames({"grid", "bootstrap"})
    ->Args({1, 0})
    ->Args({1, 200})
    ->Args({0, 0})
    ->Args({0, 200})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void KendallTauB(benchmark::State& state) {
  const Leads& l = leads(state.range(0) != 0);
  std::vector<double> x, y;
  for (std::size_t i = 0; i < l.a.scores.size(); ++i) {
    x.push_back(*l.a.scores[i]);
    y.push_back(*l.b.scores[i]);
  }
  for (auto _ : state) benchmark::DoNotOptimize(scoring::kendall_tau_b(x, y));
}
BENCHMARK(KendallTauB)->ArgName("grid")->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

void DelongTest(benchmark::State& state) {
  const Leads& l = leads(state.range(0) != 0);
  std::vector<double> x, y;
  std::vector<bool> converted;
  for (std::size_t i = 0; i < l.a.scores.size(); ++i) {
    if (!l.outcomes[i]) continue;
    x.push_back(*l.a.scores[i]);
    y.push_back(*l.b.scores[i]);
    converted.push_back(*l.outcomes[i]);
  }
  for (auto _ : state) benchmark::DoNotOptimize(scoring::delong_test(x, y, converted));
}
BENCHMARK(DelongTest)->ArgName("grid")->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
